"""What the OpenAPI document states beyond what Litestar derives from the handlers' types.

Each rule here is one the handlers enforce, so that a client generated from the document
(or schemathesis) sends only requests the API accepts, and every request it refuses breaks
a rule the document states:

- every body struct refuses unknown fields (``Wire``'s ``forbid_unknown_fields``):
  ``additionalProperties: false``;
- a bound of 0 (``ge=0``: an age, a weight) is a bound: Litestar leaves falsy bounds out;
- a partial update names at least one field (``nothing to change``): ``minProperties: 1``;
- a recipient is named by exactly one of two fields: ``oneOf``;
- a header is a string, never JSON ``null`` (Litestar writes ``str | None`` as "a string
  or null", and a generator then sends ``If-Match: null``): left out is how it is not
  given. (In a query, Litestar does read ``null`` as not given.)
- a time's UTC offset is within ±15:59 (``strict_bodies``: PostgreSQL stores no other), so a
  ``date-time`` also carries a pattern for its ending;
- and OpenAPI links say where a campaign's id leads (create → get, update, execute…), for
  clients and for stateful testing.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import msgspec.inspect as mi
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPI, OpenAPIResponse, Operation, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.openapi.spec.link import Link

# The updates the command side refuses when they name no field.
_PARTIAL_UPDATES = (
    "CampaignChanges",
    "TemplateChanges",
    "SegmentChanges",
    "OperatorChanges",
    "WebhookChanges",
)
# Bodies that name their recipient by exactly one of two fields (their __post_init__).
_EXACTLY_ONE = {
    "RenderRequest": (("contactId", OpenAPIType.STRING), ("contact", OpenAPIType.OBJECT)),
    "NewConversion": (("contactId", OpenAPIType.STRING), ("telegramId", OpenAPIType.INTEGER)),
}

# The operations on one campaign a campaign's id leads to.
_ON_A_CAMPAIGN = (
    "getCampaign",
    "updateCampaign",
    "deleteCampaign",
    "executeCampaign",
    "pauseCampaign",
    "resumeCampaign",
    "cloneCampaign",
    "getCampaignStatistics",
    "getCampaignProgress",
    "previewCampaignAudience",
)
# Those that take If-Match: the links make them unconditional, as a version taken from an
# earlier answer may no longer be current (412).
_CONDITIONAL = frozenset(
    {"updateCampaign", "deleteCampaign", "executeCampaign", "pauseCampaign", "resumeCampaign"}
)
# Answers that name a campaign: (operation id, status, where its id is).
_CAMPAIGN_ANSWERS = (
    ("createCampaign", "201", "$response.body#/data/id"),
    ("cloneCampaign", "201", "$response.body#/data/id"),
    ("getCampaign", "200", "$request.path.campaign_id"),
    ("updateCampaign", "200", "$request.path.campaign_id"),
    ("executeCampaign", "200", "$request.path.campaign_id"),
    ("pauseCampaign", "200", "$request.path.campaign_id"),
    ("resumeCampaign", "200", "$request.path.campaign_id"),
)


def complete_document(openapi: OpenAPI) -> None:
    """Add to ``openapi`` (in place) what the handlers enforce and the types do not say."""
    components = (openapi.components.schemas or {}) if openapi.components else {}
    closed = _closed_structs()
    for name, schema in components.items():
        if name in closed and schema.properties is not None:
            schema.additional_properties = False
            _bound_at_zero(closed[name], schema)
        if name in _PARTIAL_UPDATES:
            schema.min_properties = 1
        if name in _EXACTLY_ONE:
            schema.one_of = [
                Schema(required=[field], properties={field: Schema(type=kind)})
                for field, kind in _EXACTLY_ONE[name]
            ]
    for schema in components.values():
        _storable_times(schema)
    for operation in _operations(openapi).values():
        for parameter in operation.parameters or ():
            if (
                isinstance(parameter, Parameter)
                and parameter.param_in == ParamType.HEADER
                and isinstance(parameter.schema, Schema)
            ):
                _not_null(parameter.schema)
    _link_campaign_answers(openapi)


def _operations(openapi: OpenAPI) -> dict[str, Operation]:
    return {
        operation.operation_id or "": operation
        for item in (openapi.paths or {}).values()
        for operation in (item.get, item.put, item.post, item.delete)
        if operation is not None
    }


def _not_null(schema: Schema) -> None:
    """``schema`` without its ``null`` alternative."""
    if not schema.one_of:
        return
    kept = [
        option
        for option in schema.one_of
        if not (isinstance(option, Schema) and option.type == OpenAPIType.NULL)
    ]
    if len(kept) == 1 and isinstance(kept[0], Schema):
        schema.one_of = None
        schema.type = kept[0].type
    else:
        schema.one_of = kept


def _bound_at_zero(struct: type, schema: Schema) -> None:
    """Put back on ``schema`` the zero bounds of ``struct``'s number fields."""
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    for field in info.fields:
        number = field.type
        if isinstance(number, mi.UnionType):
            number = next((t for t in number.types if not isinstance(t, mi.NoneType)), number)
        if isinstance(number, mi.Metadata):
            number = number.type
        prop = (schema.properties or {}).get(field.encode_name)
        if not isinstance(number, mi.IntType | mi.FloatType) or not isinstance(prop, Schema):
            continue
        if number.ge == 0:
            prop.minimum = 0
        if number.gt == 0:
            prop.exclusive_minimum = 0
        if number.le == 0:
            prop.maximum = 0
        if number.lt == 0:
            prop.exclusive_maximum = 0


def _closed_structs() -> dict[str, type]:
    """The structs that refuse unknown fields, by name (Litestar names a struct's component
    after its class)."""

    def subclasses(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {
        struct.__name__: struct
        for struct in subclasses(msgspec.Struct)
        if struct.__struct_config__.forbid_unknown_fields
    }


def _link_campaign_answers(openapi: OpenAPI) -> None:
    operations = _operations(openapi)
    for source, status, campaign_id in _CAMPAIGN_ANSWERS:
        response = (operations[source].responses or {})[status]
        assert isinstance(response, OpenAPIResponse)
        response.links = {
            target: Link(
                operation_id=target,
                parameters={
                    "path.campaign_id": campaign_id,
                    **({"header.If-Match": "*"} if target in _CONDITIONAL else {}),
                },
                description=f"The campaign's id, as `campaign_id` of `{target}`",
            )
            for target in _ON_A_CAMPAIGN
        }


# Ends with Z or an offset PostgreSQL can store (RFC 3339 allows up to ±23:59).
_STORABLE_OFFSET = r"(Z|z|[+-](0[0-9]|1[0-5]):[0-5][0-9])$"


def _storable_times(schema: Schema) -> None:
    if schema.format is not None and str(schema.format.value) == "date-time" and not schema.pattern:
        schema.pattern = _STORABLE_OFFSET
    for child in (
        *(schema.properties or {}).values(),
        *(schema.one_of or ()),
        *(schema.any_of or ()),
        *(schema.all_of or ()),
        *([schema.items] if isinstance(schema.items, Schema) else []),
    ):
        if isinstance(child, Schema):
            _storable_times(child)

"""What the OpenAPI document states beyond what Litestar derives from the handlers' types.

Each rule here is one the handlers enforce, so that a client generated from the document
(or schemathesis) sends only requests the API accepts, and every request it refuses breaks
a rule the document states:

- a struct's fields are described as msgspec, which decodes the bodies, describes them
  (``msgspec.json.schema``): Litestar's own description leaves out the constraints of list
  items, of a dict's keys and values and a dict's size, and falsy bounds (``ge=0``), and
  writes 2**63 - 1 as a float;
- every body struct refuses unknown fields (``Wire``'s ``forbid_unknown_fields``):
  ``additionalProperties: false``;
- a partial update names at least one field (``nothing to change``): ``minProperties: 1``,
  and where ``null`` means "not given", at least one field that is not ``null``;
- a segment's filter is the filter language's grammar (``segment_filter.json_schemas``);
- a recipient (or a media item's source) is named by exactly one of two fields: ``oneOf``;
  a campaign message has content, a template or variations: ``anyOf``;
- no text holds NUL (``strict_bodies`` refuses it in a body, a query or a path parameter);
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
from typing import Any

import msgspec
import msgspec.inspect as mi
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPI, OpenAPIResponse, Operation, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.openapi.spec.link import Link

from telecast_libs.contracts import segment_filter
from telecast_libs.contracts.campaigns import NO_NUL

# The updates the command side refuses when they name no field.
_PARTIAL_UPDATES = (
    "CampaignChanges",
    "TemplateChanges",
    "SegmentChanges",
    "OperatorChanges",
    "WebhookChanges",
)
# The structs whose ``filter`` is a segment filter (True: it may be null, "not given").
_FILTERS = {
    "SegmentDefinition": False,
    "SegmentChanges": True,
    "FilterEstimate": False,
    "SegmentView": False,
}
# Bodies that name their recipient by exactly one of two fields (their __post_init__).
_EXACTLY_ONE = {
    "RenderRequest": (("contactId", OpenAPIType.STRING), ("contact", OpenAPIType.OBJECT)),
    "NewConversion": (("contactId", OpenAPIType.STRING), ("telegramId", OpenAPIType.INTEGER)),
    # Media: from a URL, or a file Telegram holds.
    "Media": (("url", OpenAPIType.STRING), ("fileId", OpenAPIType.STRING)),
}
_NOT_NULL = Schema(schema_not=Schema(type=OpenAPIType.NULL))
# Structs that need one of some fields (``rules.check_content``): a campaign message has
# content of its own, a template or variations.
_AT_LEAST_ONE = {
    "CampaignMessage": [
        Schema(required=["content"], properties={"content": _NOT_NULL}),
        Schema(required=["templateId"], properties={"templateId": _NOT_NULL}),
        Schema(required=["variations"], properties={"variations": Schema(min_items=1)}),
    ],
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
            _describe_as_msgspec(closed[name], schema)
        if name in _PARTIAL_UPDATES:
            schema.min_properties = 1
            _not_only_nulls(closed[name], schema)
        if name in _AT_LEAST_ONE:
            schema.any_of = _AT_LEAST_ONE[name]
        if name in _EXACTLY_ONE:
            schema.one_of = [
                Schema(required=[field], properties={field: Schema(type=kind)})
                for field, kind in _EXACTLY_ONE[name]
            ]
    for schema in components.values():
        _storable_times(schema)
    # After the times: a filter's time is compared, never stored, so any offset will do.
    _filter_grammar(components)
    for operation in _operations(openapi).values():
        for parameter in operation.parameters or ():
            if not isinstance(parameter, Parameter) or not isinstance(parameter.schema, Schema):
                continue
            if parameter.param_in == ParamType.HEADER:
                _not_null(parameter.schema)
            elif parameter.param_in in (ParamType.QUERY, ParamType.PATH):
                _no_nul(parameter.schema)
    _link_campaign_answers(openapi)


def _operations(openapi: OpenAPI) -> dict[str, Operation]:
    return {
        operation.operation_id or "": operation
        for item in (openapi.paths or {}).values()
        for operation in (item.get, item.put, item.post, item.delete)
        if operation is not None
    }


def _no_nul(schema: Schema) -> None:
    """A text parameter without a pattern leaves NUL out (``strict_bodies`` refuses it)."""
    texts = [schema, *(option for option in schema.one_of or () if isinstance(option, Schema))]
    if (
        any(text.type == OpenAPIType.STRING for text in texts)
        and schema.pattern is None
        and schema.enum is None
    ):
        schema.pattern = NO_NUL


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


def _describe_as_msgspec(struct: type, schema: Schema) -> None:
    """``schema``'s properties as msgspec describes ``struct``'s fields (every constraint it
    checks), its references into the document's components (named as msgspec names them)."""
    _, definitions = msgspec.json.schema_components(
        [struct], ref_template="#/components/schemas/{name}"
    )
    described = definitions[struct.__name__]
    schema.properties = {
        name: _cleaned(property_schema)  # type: ignore[misc]
        for name, property_schema in described["properties"].items()
    }
    schema.required = described.get("required", [])
    schema.additional_properties = False


def _cleaned(value: Any) -> Any:
    """A msgspec schema without what is not JSON Schema: the ``extra`` hints that
    ``telecast_libs.contracts`` gives Litestar, a ``default`` of null (no default). A time
    gets the pattern of the offsets PostgreSQL stores (see ``_storable_times``), a text
    without a pattern one that leaves out NUL (``strict_bodies`` refuses it anywhere)."""
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if not isinstance(value, dict):
        return value
    cleaned = {
        key: _cleaned(item)
        for key, item in value.items()
        if key != "extra" and not (key == "default" and item is None)
    }
    if cleaned.get("format") == "date-time" and "pattern" not in cleaned:
        cleaned["pattern"] = _STORABLE_OFFSET
    elif cleaned.get("type") == "string" and not {"pattern", "enum", "format"} & set(cleaned):
        cleaned["pattern"] = NO_NUL
    return cleaned


def _not_only_nulls(struct: type, schema: Schema) -> None:
    """A partial update whose fields default to ``None`` takes ``null`` as "not given": at
    least one field must be given, and not as ``null``."""
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    branches = []
    for field in info.fields:
        if field.default is None:
            # Given, and not null.
            given = Schema(required=[field.encode_name], properties={field.encode_name: _NOT_NULL})
        else:
            given = Schema(required=[field.encode_name])
        branches.append(given)
    if any(field.default is None for field in info.fields):
        schema.any_of = branches


def _filter_grammar(components: dict[str, Any]) -> None:
    """The segment filter's grammar, and each filter property of a segment's bodies and
    answers pointing at it."""
    grammar = segment_filter.json_schemas()
    components.update(grammar)  # type: ignore[arg-type]
    reference = {"$ref": f"#/components/schemas/{segment_filter.FILTER}"}
    for name, nullable in _FILTERS.items():
        properties = components[name].properties
        properties["filter"] = (  # type: ignore[index]
            {"anyOf": [reference, {"type": "null"}]} if nullable else dict(reference)
        )


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

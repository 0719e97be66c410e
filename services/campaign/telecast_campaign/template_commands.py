"""How template commands are decided, and how a campaign's messages are resolved against
their templates when it is executed."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from telecast_campaign.application import Decision, Workspace
from telecast_campaign.domain.message_content import resolve_message
from telecast_campaign.domain.template import Template, TemplateNotFound, UnknownTemplate
from telecast_libs.contracts.templates import CreateTemplate, DeleteTemplate, UpdateTemplate


def _decision(template: Template) -> Decision:
    return Decision(template, template.version, name=template.name)


def create(workspace: Workspace, command: CreateTemplate, meta: dict[str, Any]) -> Decision:
    existing = workspace.find(Template, command.template_id)
    if existing is not None:
        return _decision(existing)
    template = Template.create(
        command.content,
        created_by=command.meta.actor.id,
        meta=meta,
        template_id=uuid.UUID(command.template_id) if command.template_id else None,
    )
    return _decision(template)


def update(workspace: Workspace, command: UpdateTemplate, meta: dict[str, Any]) -> Decision:
    template = _template(workspace, command)
    template.update(command.changes, meta=meta)
    return _decision(template)


def delete(workspace: Workspace, command: DeleteTemplate, meta: dict[str, Any]) -> Decision:
    template = _template(workspace, command)
    template.delete(meta=meta)
    return _decision(template)


def _template(workspace: Workspace, command: UpdateTemplate | DeleteTemplate) -> Template:
    template = workspace.get(Template, command.template_id, UnknownTemplate)
    template.check_version(command.expected_version)
    return template


# Executions ------------------------------------------------------------------------------


def resolve_messages(workspace: Workspace, content: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of a campaign's (stored) content as its execution records them: each
    with its template's content as the template is now (see ``resolve_message``).

    A ``templateId`` that names no template, or a deleted one, is refused with
    TEMPLATE_NOT_FOUND naming the message; a text that cannot be sent in its template's parse
    mode, with VALIDATION_ERROR naming it.
    """
    resolved = []
    for index, message in enumerate(content.get("messages", [])):
        field = f"messages[{index}]"
        template = None
        template_id = message.get("templateId")
        if template_id is not None:
            template = find_template(workspace, template_id)
            if template is None or template.deleted:
                gone = "does not exist" if template is None else "was deleted"
                raise TemplateNotFound(
                    f"{field}.templateId: template {template_id} {gone}",
                    details={
                        "field": f"{field}.templateId",
                        "templateId": template_id,
                        "reason": "missing" if template is None else "deleted",
                    },
                )
        resolved.append(resolve_message(message, template, field))
    return resolved


def find_template(workspace: Workspace, template_id: str) -> Template | None:
    """The template as the batch sees it (deleted ones included); None if there is none."""
    try:
        key = uuid.UUID(template_id)
    except ValueError:
        return None
    found = workspace.touched.get(key)
    if found is None:
        try:
            found = workspace.app.repository.get(key)
        except AggregateNotFoundError:
            return None
    return found if isinstance(found, Template) else None

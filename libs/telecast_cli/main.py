"""``telecast``: the operator command line over the HTTP API (docs/cli.md).

``telecast login`` keeps the API's address and the tokens (``credentials.py``); every other
command calls the API with them. A refusal prints its code and message and exits 1.
"""

import functools
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from telecast_cli import credentials as stored
from telecast_cli.api import Api, ApiError
from telecast_cli.api import login as api_login
from telecast_cli.follow import follow as follow_progress
from telecast_cli.render import (
    campaign_table,
    campaigns_table,
    import_summary,
    statistics_tables,
)

app = typer.Typer(
    name="telecast",
    help="Operate telecast: campaigns, contacts, live progress and statistics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
campaigns = typer.Typer(help="List, show, create, execute, pause, resume, cancel campaigns.")
contacts = typer.Typer(help="Import contacts.")
app.add_typer(campaigns, name="campaigns", no_args_is_help=True)
app.add_typer(contacts, name="contacts", no_args_is_help=True)

F = TypeVar("F", bound=Callable[..., Any])
UPLOAD_CHUNK = 256 * 1024


def console() -> Console:
    # Made per call: it writes to whatever sys.stdout is then (a test runner's capture too).
    return Console(highlight=False)


def fail(message: str) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"[bold red]error[/]: {message}")
    return typer.Exit(1)


def reports_api_errors(command: F) -> F:
    """Print an API refusal as ``CODE: message`` (and what its details name), exit 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ApiError as error:
            text = f"[bold]{error.code}[/]: {error.message}"
            for detail in (error.details if isinstance(error.details, list) else [])[:5]:
                if isinstance(detail, dict) and detail.get("field"):
                    text += f"\n  {detail['field']}: {detail.get('message', '')}"
            raise fail(text) from None

    return wrapper  # type: ignore[return-value]


def session() -> Api:
    path = stored.credentials_path()
    saved = stored.load(path)
    if saved is None:
        raise fail(f"not logged in ({path} has no credentials): run telecast login")
    return Api(saved, path)


# login -----------------------------------------------------------------------------------


@app.command()
@reports_api_errors
def login(
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, help="Asked if not given", envvar="TELECAST_PASSWORD"
        ),
    ],
    url: Annotated[
        str, typer.Option(help="The API's address", envvar="TELECAST_URL")
    ] = stored.DEFAULT_URL,
    email: Annotated[
        str, typer.Option(prompt=True, help="The operator's email", envvar="TELECAST_EMAIL")
    ] = "admin@telecast.local",
) -> None:
    """Log in; keeps the tokens in the credentials file (mode 0600)."""
    credentials = api_login(url, email, password)
    path = stored.credentials_path()
    stored.save(credentials, path)
    console().print(f"logged in to {credentials.url} as {email} (credentials in {path})")


# campaigns -------------------------------------------------------------------------------


class Status(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class CampaignType(StrEnum):
    MESSAGE = "message"
    INVITATION = "invitation"
    DATA_COLLECTION = "data_collection"
    ENGAGEMENT = "engagement"
    CUSTOM = "custom"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


CampaignId = Annotated[str, typer.Argument(help="The campaign's id")]


@campaigns.command("list")
@reports_api_errors
def list_campaigns(
    status: Annotated[Status | None, typer.Option(help="Only this status")] = None,
    search: Annotated[str | None, typer.Option(help="Words in name or description")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """The campaigns, newest first."""
    params: dict[str, Any] = {"page": page, "limit": limit}
    if status:
        params["status"] = status.value
    if search:
        params["search"] = search
    with session() as api:
        console().print(campaigns_table(api.call("GET", "/api/v1/campaigns", params=params)))


@campaigns.command("show")
@reports_api_errors
def show_campaign(campaign_id: CampaignId) -> None:
    """One campaign's detail."""
    with session() as api:
        console().print(campaign_table(api.call("GET", f"/api/v1/campaigns/{campaign_id}")))


@campaigns.command("create")
@reports_api_errors
def create_campaign(
    name: Annotated[str | None, typer.Option(help="The campaign's name")] = None,
    campaign_type: Annotated[
        CampaignType | None, typer.Option("--type", help="The campaign's type (message)")
    ] = None,
    message: Annotated[
        list[str] | None, typer.Option(help="A message's content (repeat for more)")
    ] = None,
    segment: Annotated[
        list[str] | None, typer.Option(help="A target segment's id (repeat for more)")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The whole body as JSON (options win)"),
    ] = None,
) -> None:
    """Create a draft campaign; prints its id."""
    body: dict[str, Any] = json.loads(file.read_text()) if file else {}
    if name:
        body["name"] = name
    if campaign_type or "type" not in body:
        body["type"] = (campaign_type or CampaignType.MESSAGE).value
    if message:
        body["messages"] = [{"content": content} for content in message]
    if segment:
        body.setdefault("targetAudience", {})["segments"] = segment
    if not body.get("name"):
        raise fail("a campaign needs a name: --name, or name in --file")
    with session() as api:
        created = api.call("POST", "/api/v1/campaigns", json=body)
    console().print(f"created {created['id']} ({created['name']}, {created['status']})")


def parse_time(text: str) -> str:
    """ISO 8601 in UTC; a time without an offset is local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.isoformat()


@campaigns.command("execute")
@reports_api_errors
def execute_campaign(
    campaign_id: CampaignId,
    test_mode: Annotated[bool, typer.Option(help="Send only to test recipients")] = False,
    priority: Annotated[Priority, typer.Option()] = Priority.NORMAL,
    percentage: Annotated[
        int, typer.Option(min=1, max=100, help="A sample of the audience, in percent")
    ] = 100,
    at: Annotated[
        str | None,
        typer.Option(help="Schedule for this time (ISO 8601; local time without an offset)"),
    ] = None,
) -> None:
    """Execute a draft campaign now, or at a time."""
    body: dict[str, Any] = {
        "testMode": test_mode,
        "priority": priority.value,
        "targetPercentage": percentage,
    }
    if at:
        body["scheduledAt"] = parse_time(at)
    with session() as api:
        answer = api.call("POST", f"/api/v1/campaigns/{campaign_id}/execute", json=body)
    when = f" for {answer['scheduledAt']}" if answer.get("scheduledAt") else ""
    console().print(f"{answer['status']}{when}: execution {answer['executionId']}")


def _lifecycle(campaign_id: str, action: str) -> None:
    with session() as api:
        answer = api.call("POST", f"/api/v1/campaigns/{campaign_id}/{action}")
    console().print(f"{campaign_id}: {answer['status']}")


@campaigns.command("pause")
@reports_api_errors
def pause_campaign(campaign_id: CampaignId) -> None:
    """Pause an active campaign."""
    _lifecycle(campaign_id, "pause")


@campaigns.command("resume")
@reports_api_errors
def resume_campaign(campaign_id: CampaignId) -> None:
    """Resume a paused campaign."""
    _lifecycle(campaign_id, "resume")


@campaigns.command("cancel")
@reports_api_errors
def cancel_campaign(campaign_id: CampaignId) -> None:
    """Cancel a draft, scheduled, active or paused campaign (for good)."""
    with session() as api:
        answer = api.call("PUT", f"/api/v1/campaigns/{campaign_id}", json={"status": "cancelled"})
    console().print(f"{campaign_id}: {answer['status']}")


# contacts --------------------------------------------------------------------------------

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".ndjson": "application/x-ndjson",
    ".jsonl": "application/x-ndjson",
}


def _chunks(path: Path, advance: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(UPLOAD_CHUNK):
            advance(len(chunk))
            yield chunk


@contacts.command("import")
@reports_api_errors
def import_contacts(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON lines")],
    content_format: Annotated[
        str | None,
        typer.Option("--format", help="csv or ndjson (default: from the file's extension)"),
    ] = None,
) -> None:
    """Import contacts from a CSV or JSON-lines file, streamed; prints the report."""
    suffix = f".{content_format.lower()}" if content_format else file.suffix.lower()
    content_type = CONTENT_TYPES.get(suffix)
    if content_type is None:
        raise fail(f"cannot tell the format of {file.name}: use --format csv or ndjson")
    size = file.stat().st_size
    out = console()
    with session() as api:
        # The body is sent once, as it is read: the token must work before it starts.
        api.ensure_fresh()
        with Progress(
            TextColumn("uploading {task.fields[name]}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=out,
        ) as bar:
            task = bar.add_task("upload", total=size, name=file.name)
            report = api.call(
                "POST",
                "/api/v1/contacts/import",
                content=_chunks(file, lambda n: bar.advance(task, n)),
                headers={"Content-Type": content_type, "Content-Length": str(size)},
                timeout=None,
            )
    for line in import_summary(report):
        out.print(line)


# follow and stats ------------------------------------------------------------------------


@app.command()
@reports_api_errors
def follow(
    campaign_id: CampaignId,
    poll_interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between polls if the stream fails")
    ] = 1.0,
) -> None:
    """Follow an execution live until it is completed or cancelled."""
    with session() as api:
        follow_progress(api, campaign_id, console(), poll_interval)


class Period(StrEnum):
    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"
    ALL = "all"


@app.command()
@reports_api_errors
def stats(
    campaign_id: CampaignId,
    period: Annotated[Period, typer.Option(help="Time period")] = Period.ALL,
) -> None:
    """A campaign's statistics: overview, performance, timeline and segments."""
    with session() as api:
        report = api.call(
            "GET", f"/api/v1/campaigns/{campaign_id}/statistics", params={"period": period.value}
        )
    out = console()
    for table in statistics_tables(report):
        out.print(table)


def main() -> None:
    app()

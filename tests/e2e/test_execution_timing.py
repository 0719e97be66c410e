"""When an execution starts, through HTTP: a campaign's ``startDate`` and ``endDate`` bound
it (a campaign executed before its ``startDate`` waits for it; a ``scheduledAt`` outside
the dates is refused)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.inspect import wait_until


def _at(delta: timedelta) -> str:
    moment = (datetime.now(UTC) + delta).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def _create(api: httpx.Client, **fields: object) -> str:
    answer = api.post("/api/v1/campaigns", json={"name": "Timing", "type": "message", **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def _detail(api: httpx.Client, campaign_id: str) -> dict:
    return api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]


def test_executing_before_the_start_date_schedules_it_at_the_start_date(
    api: httpx.Client,
) -> None:
    start = _at(timedelta(seconds=8))
    campaign = _create(api, startDate=start)
    answer = api.post(f"/api/v1/campaigns/{campaign}/execute")
    assert answer.status_code == 200, answer.text
    body = answer.json()["data"]
    assert (body["status"], body["scheduledAt"]) == ("scheduled", start)
    assert body["message"] == "Campaign execution scheduled"
    detail = _detail(api, campaign)
    assert detail["status"] == "scheduled"
    assert detail["execution"]["scheduledAt"] == start
    # It starts at its startDate, not before.
    wait_until(lambda: _detail(api, campaign)["status"] == "active", timeout=40, what="start")
    started = _detail(api, campaign)["execution"]["startedAt"]
    assert datetime.fromisoformat(started) >= datetime.fromisoformat(start)


def test_a_start_date_that_has_passed_starts_at_once(api: httpx.Client) -> None:
    campaign = _create(api, startDate=_at(-timedelta(days=1)), endDate=_at(timedelta(days=1)))
    answer = api.post(f"/api/v1/campaigns/{campaign}/execute")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["status"] == "started"
    assert _detail(api, campaign)["status"] == "active"


def test_a_scheduled_time_within_the_dates_is_kept(api: httpx.Client) -> None:
    campaign = _create(api, startDate=_at(timedelta(days=1)), endDate=_at(timedelta(days=3)))
    scheduled = _at(timedelta(days=2))
    answer = api.post(f"/api/v1/campaigns/{campaign}/execute", json={"scheduledAt": scheduled})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["scheduledAt"] == scheduled


@pytest.mark.parametrize(
    ("scheduled", "says"),
    [
        (timedelta(hours=23), "before the campaign's startDate"),
        (-timedelta(hours=1), "before the campaign's startDate"),  # "now" is before it too
        (timedelta(days=3), "not before the campaign's endDate"),
        (timedelta(days=4), "not before the campaign's endDate"),
    ],
)
def test_a_scheduled_time_outside_the_dates_is_refused(
    api: httpx.Client, scheduled: timedelta, says: str
) -> None:
    start, end = _at(timedelta(days=1)), _at(timedelta(days=3))
    campaign = _create(api, startDate=start, endDate=end)
    scheduled_at = _at(scheduled) if scheduled != timedelta(days=3) else end
    answer = api.post(f"/api/v1/campaigns/{campaign}/execute", json={"scheduledAt": scheduled_at})
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "SCHEDULE_OUTSIDE_DATES"
    assert says in error["message"]
    assert error["details"] == {"field": "scheduledAt", "startDate": start, "endDate": end}
    assert _detail(api, campaign)["status"] == "draft"


def test_setting_status_active_before_the_start_date_schedules_it(api: httpx.Client) -> None:
    start = _at(timedelta(hours=5))
    campaign = _create(api, startDate=start)
    answer = api.put(f"/api/v1/campaigns/{campaign}", json={"status": "active"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["status"] == "scheduled"
    assert _detail(api, campaign)["execution"]["scheduledAt"] == start

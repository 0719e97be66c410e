"""What ``make demo`` seeds, checked without a platform (the platform path is the one the
e2e tests of the CLI take)."""

from __future__ import annotations

import csv
import io

from telecast_devenv.demo import TEST_RECIPIENTS, audience_csv, campaign_body


def test_the_demo_audience_is_a_csv_the_import_takes() -> None:
    rows = list(csv.DictReader(io.StringIO(audience_csv(300))))

    assert len(rows) == 300
    assert len({row["telegramId"] for row in rows}) == 300
    assert sum(row["isTestRecipient"] == "true" for row in rows) == TEST_RECIPIENTS
    assert all(row["firstName"] and len(row["location"]) == 2 for row in rows)
    assert audience_csv(300) == audience_csv(300)  # the same audience every time


def test_the_demo_campaign_has_two_variations_sharing_the_audience() -> None:
    body = campaign_body("segment-id", "template-id")

    [message] = body["messages"]
    assert message["templateId"] == "template-id"
    assert [v["weight"] for v in message["variations"]] == [50, 50]
    assert body["targetAudience"] == {"segments": ["segment-id"]}

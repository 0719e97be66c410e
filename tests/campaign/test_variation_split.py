"""A/B variations: a recipient's variation is deterministic, and the split follows the
weights."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from telecast_libs.content.messages import personalize, resolve
from telecast_libs.content.variations import BUCKETS, bucket, choose

CAMPAIGN = "5f0c8a9e-3c1b-4b7e-9a51-2d6f1e8c4a10"
RECIPIENTS = [str(uuid.UUID(int=n)) for n in range(100_000)]


def message(*weights: int, own: bool = True) -> dict:
    body: dict = {"id": "msg1", "variations": []}
    if own:
        body["content"] = "own"
    body["variations"] = [
        {"id": f"var{i + 1}", "content": f"v{i + 1}", "weight": w} for i, w in enumerate(weights)
    ]
    return body


def split(msg: dict, campaign: str = CAMPAIGN) -> dict[str | None, float]:
    counts = Counter(choose(campaign, recipient, msg) for recipient in RECIPIENTS)
    return {key: 100 * count / len(RECIPIENTS) for key, count in counts.items()}


def test_the_choice_depends_only_on_campaign_and_recipient() -> None:
    msg = message(30, 30)
    first = [choose(CAMPAIGN, r, msg) for r in RECIPIENTS[:1000]]
    again = [choose(CAMPAIGN, r, dict(msg)) for r in RECIPIENTS[:1000]]
    assert first == again
    # Pinned values: a change of the hash would reshuffle every recipient of a running test
    # (replicas of two versions would disagree), so it cannot pass unnoticed.
    assert [bucket("camp123", f"contact{i}") for i in range(3)] == [5421, 54, 7477]
    assert all(0 <= bucket(CAMPAIGN, r) < BUCKETS for r in RECIPIENTS[:1000])


@pytest.mark.parametrize(
    "weights",
    [(50,), (10, 20, 30), (33, 33, 34), (1, 99), (25, 25, 25)],
)
def test_the_split_over_100000_recipients_is_within_a_point_of_the_weights(
    weights: tuple[int, ...],
) -> None:
    own = sum(weights) < 100
    shares = split(message(*weights, own=own))
    expected = {f"var{i + 1}": float(w) for i, w in enumerate(weights)}
    if own:
        expected[None] = 100.0 - sum(weights)
    for key, share in expected.items():
        assert abs(shares.get(key, 0.0) - share) < 1.0, (key, shares)


def test_the_split_passes_a_chi_square_test() -> None:
    weights = (10, 20, 30)
    counts = Counter(choose(CAMPAIGN, r, message(*weights)) for r in RECIPIENTS)
    expected = {"var1": 10_000, "var2": 20_000, "var3": 30_000, None: 40_000}
    chi_square = sum((counts[k] - e) ** 2 / e for k, e in expected.items())
    # 3 degrees of freedom: 16.27 is the 0.1% critical value.
    assert chi_square < 16.27


def test_another_campaign_draws_anew() -> None:
    msg = message(50)
    here = [choose(CAMPAIGN, r, msg) for r in RECIPIENTS[:2000]]
    there = [choose("another-campaign", r, msg) for r in RECIPIENTS[:2000]]
    agree = sum(a == b for a, b in zip(here, there, strict=True)) / 2000
    assert 0.4 < agree < 0.6


def test_edge_weights() -> None:
    sample = RECIPIENTS[:2000]
    assert {choose(CAMPAIGN, r, message()) for r in sample} == {None}
    assert {choose(CAMPAIGN, r, message(0)) for r in sample} == {None}
    assert {choose(CAMPAIGN, r, message(100)) for r in sample} == {"var1"}
    assert {choose(CAMPAIGN, r, message(0, 100, own=False)) for r in sample} == {"var2"}
    assert {choose(CAMPAIGN, r, {"id": "msg1", "content": "x"}) for r in sample} == {None}
    # Only variations, summing to 100 (the rule for a message without content of its own):
    # every recipient gets one of them.
    assert None not in {choose(CAMPAIGN, r, message(40, 60, own=False)) for r in sample}


def test_personalize_renders_the_variation_each_recipient_draws() -> None:
    template = {
        "id": "t1",
        "version": 3,
        "content": "<b>Hi {{firstName|there}}</b>",
        "parseMode": "html",
        "buttons": [[{"text": "Shop", "url": "https://shop.example.com"}]],
    }
    stored = {
        "id": "msg1",
        "templateId": "t1",
        "variations": [{"id": "var1", "content": "<i>Yo {{firstName}}</i>", "weight": 50}],
    }
    resolved = resolve(stored, template, "messages[0]")
    seen = {}
    for recipient in RECIPIENTS[:200]:
        sent = personalize(resolved, CAMPAIGN, recipient, {"firstName": "A&B"})
        assert sent["variationId"] == choose(CAMPAIGN, recipient, resolved)
        assert sent["buttons"] == template["buttons"] and sent["parseMode"] == "html"
        seen[sent["variationId"]] = sent["text"]
    assert seen == {None: "<b>Hi A&amp;B</b>", "var1": "<i>Yo A&amp;B</i>"}

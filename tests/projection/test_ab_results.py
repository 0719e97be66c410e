"""A/B results (no I/O): arms, rates, the z-test and when a winner is named."""

from __future__ import annotations

import math

import pytest

from telecast_projection.ab_results import ab_tests, z_test

MESSAGE = {"id": "m1", "variations": [{"id": "B", "weight": 50, "content": "b"}]}


def test_the_z_test_of_two_proportions() -> None:
    z, p = z_test(200, 1000, 150, 1000)
    # Pooled 0.175: (0.2 - 0.15) / sqrt(0.175 * 0.825 * 2 / 1000) = 2.9424…
    assert z == pytest.approx(2.9424, abs=1e-4)
    assert p == pytest.approx(math.erfc(2.9424 / math.sqrt(2)), abs=1e-4)
    assert z_test(0, 0, 5, 10) == (0.0, 1.0)
    assert z_test(0, 10, 0, 10) == (0.0, 1.0)


def test_a_clear_difference_names_the_winner() -> None:
    counts = {("m1", ""): (1000, 90, 150, 1500.0), ("m1", "B"): (1000, 100, 200, 2100.0)}
    (test,) = ab_tests("completed", [MESSAGE], counts)
    assert (test.id, test.status, test.message_id) == ("ab-m1", "completed", "m1")
    original, b = test.variants
    assert (original.variation_id, original.weight, original.conversion_rate) == (None, 50, 15.0)
    assert (b.variation_id, b.weight, b.conversion_rate, b.click_rate) == ("B", 50, 20.0, 10.0)
    assert test.significance is not None
    assert test.significance.metric == "conversionRate"
    assert test.significance.significant and test.significance.p_value < 0.05
    assert test.winner == "B"


def test_a_small_difference_names_no_winner_and_clicks_decide_before_conversions() -> None:
    counts = {("m1", ""): (100, 11, 0, 0.0), ("m1", "B"): (100, 10, 0, 0.0)}
    (test,) = ab_tests("active", [MESSAGE], counts)
    assert test.status == "running"
    assert test.significance is not None and test.significance.metric == "clickRate"
    assert not test.significance.significant and test.winner is None


def test_messages_without_variations_have_no_test_and_no_data_no_significance() -> None:
    assert ab_tests("draft", [{"id": "m0", "variations": []}], {}) == []
    (test,) = ab_tests("draft", [MESSAGE], {})
    assert test.status == "draft" and test.significance is None
    assert [v.recipients for v in test.variants] == [0, 0]

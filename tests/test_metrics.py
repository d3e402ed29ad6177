"""The metric set: silent until enabled, each event counted under its label, the recent
windows, and the database gauges read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import __version__, metrics
from bot.metrics import PAUSE_REASONS_SHOWN, DatabaseSummary


def samples(m: metrics.Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(m.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def active() -> Iterator[metrics.Metrics]:
    with metrics.collecting() as m:
        yield m


def test_events_before_enable_are_not_counted_and_do_not_fail() -> None:
    metrics.disable()
    metrics.part_posted("schedule")
    metrics.rate_limited("user")
    metrics.interaction_handled("serial next", 0.01)
    assert metrics.current() is None
    with metrics.collecting() as m:
        # A fresh set: nothing from before it was enabled.
        assert not any(name.startswith("serialbot_parts_posted") for name, _ in samples(m))
        assert samples(m)[("serialbot_discord_rate_limited_recent", ())] == 0
    assert metrics.current() is None


def test_each_event_is_counted_under_its_label(active: metrics.Metrics) -> None:
    metrics.part_posted("schedule")
    metrics.part_posted("schedule")
    metrics.part_posted("request")
    metrics.part_delayed("server_error")
    metrics.part_failed("missing_access")
    metrics.database_error("deliver")
    metrics.interaction_handled("serial status", 0.02)
    metrics.interaction_handled("serial status", 4.0)
    found = samples(active)
    assert found[("serialbot_parts_posted_total", (("trigger", "schedule"),))] == 2
    assert found[("serialbot_parts_posted_total", (("trigger", "request"),))] == 1
    assert found[("serialbot_parts_delayed_total", (("reason", "server_error"),))] == 1
    assert found[("serialbot_parts_failed_total", (("reason", "missing_access"),))] == 1
    assert found[("serialbot_database_errors_total", (("operation", "deliver"),))] == 1
    status = (("command", "serial status"),)
    assert found[("serialbot_interaction_seconds_count", status)] == 2
    assert found[("serialbot_interaction_seconds_bucket", (*status, ("le", "0.025")))] == 1
    assert found[("serialbot_interaction_seconds_bucket", (*status, ("le", "3.0")))] == 1
    assert found[("serialbot_info", (("version", __version__),))] == 1


def test_rate_limits_and_invalid_requests_count_in_total_and_in_the_recent_window(
    active: metrics.Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(metrics.time, "monotonic", lambda: clock[0])
    metrics.rate_limited("user")
    metrics.invalid_request(429)
    metrics.invalid_request(403)
    clock[0] += metrics.RECENT_WINDOW_SECONDS - 1
    metrics.rate_limited("global")
    found = samples(active)
    assert found[("serialbot_discord_rate_limited_recent", ())] == 2
    assert found[("serialbot_discord_invalid_requests_recent", ())] == 2
    clock[0] += 2  # the first three fall out of the window; the totals keep them
    found = samples(active)
    assert found[("serialbot_discord_rate_limited_recent", ())] == 1
    assert found[("serialbot_discord_invalid_requests_recent", ())] == 0
    assert found[("serialbot_discord_rate_limited_total", (("scope", "user"),))] == 1
    assert found[("serialbot_discord_rate_limited_total", (("scope", "global"),))] == 1
    assert found[("serialbot_discord_invalid_requests_total", (("status", "403"),))] == 1


def test_database_and_gateway_gauges_are_read_at_each_scrape(active: metrics.Metrics) -> None:
    summary = DatabaseSummary(
        serials={"active": 3, "paused": 2},
        paused={"missing access": 1, "holiday\nbreak": 1},
        due=4,
        oldest_due_seconds=90.5,
    )
    reads = []

    def read() -> DatabaseSummary:
        reads.append(1)
        return summary

    metrics.watch_database(read)
    connected = [True]
    metrics.watch_gateway(lambda: 0.042, lambda: connected[0])
    found = samples(active)
    assert found[("serialbot_serials", (("state", "active"),))] == 3
    assert found[("serialbot_serials", (("state", "paused"),))] == 2
    assert found[("serialbot_serials", (("state", "finished"),))] == 0
    assert found[("serialbot_serials_paused", (("reason", "holiday break"),))] == 1
    assert found[("serialbot_due_backlog", ())] == 4
    assert found[("serialbot_oldest_due_age_seconds", ())] == 90.5
    assert found[("serialbot_gateway_latency_seconds", ())] == 0.042
    assert found[("serialbot_gateway_connected", ())] == 1
    connected[0] = False
    assert samples(active)[("serialbot_gateway_connected", ())] == 0
    assert len(reads) == 2


def test_pause_reasons_are_capped_with_the_rest_as_other(active: metrics.Metrics) -> None:
    reasons = {f"reason {n:02}": 100 - n for n in range(PAUSE_REASONS_SHOWN + 5)}
    metrics.watch_database(lambda: DatabaseSummary(paused=reasons))
    found = samples(active)
    shown = {
        labels[0][1]: v for (name, labels), v in found.items() if name == "serialbot_serials_paused"
    }
    assert len(shown) == PAUSE_REASONS_SHOWN + 1
    assert shown["reason 00"] == 100
    assert shown["other"] == sum(
        100 - n for n in range(PAUSE_REASONS_SHOWN, PAUSE_REASONS_SHOWN + 5)
    )


def test_a_database_that_cannot_be_read_is_counted_and_the_scrape_still_answers(
    active: metrics.Metrics,
) -> None:
    def broken() -> DatabaseSummary:
        raise OSError("disk gone")

    metrics.part_posted("schedule")
    metrics.watch_database(broken)
    first = samples(active)
    assert first[("serialbot_parts_posted_total", (("trigger", "schedule"),))] == 1
    assert not any(name == "serialbot_serials" for name, _ in first)
    # The failed read is counted (and shows from the next scrape on: counters come first).
    second = samples(active)
    assert second[("serialbot_database_errors_total", (("operation", "metrics"),))] == 1

"""What the bot counts for its operator, served to Prometheus when ``metrics.port`` is set.

Every metric is defined here, once. The rest of the bot reports events by calling the functions
below (``part_posted``, ``part_delayed``, ``rate_limited`` ...). Until ``enable()`` is called
they return at once, so counting costs one check when the endpoint is off, and nothing here
imports Discord.

Label values must come from a small fixed set (a trigger, an error kind, a command name), never
from free text such as a channel name: each distinct value is a new time series. The one
exception is the pause reason of paused serials, which is read from the database at scrape time
and capped at ``PAUSE_REASONS_SHOWN`` values (the rest are counted as "other").

Gauges that describe the database (serials by state, the due backlog) and the gateway are read
when Prometheus scrapes, through the callables given to ``watch_database`` and
``watch_gateway``, so they are never stale and cost nothing between scrapes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot import __version__

log = logging.getLogger(__name__)

__all__ = [
    "CONTENT_TYPE",
    "PAUSE_REASONS_SHOWN",
    "RECENT_WINDOW_SECONDS",
    "DatabaseSummary",
    "Metrics",
    "collecting",
    "current",
    "database_error",
    "disable",
    "enable",
    "interaction_handled",
    "invalid_request",
    "part_delayed",
    "part_failed",
    "part_posted",
    "rate_limited",
    "watch_database",
    "watch_gateway",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Discord bans an IP for a while after 10,000 invalid requests (401, 403, 429) in 10 minutes;
# the "recent" gauges use the same window so they can be compared with that limit.
RECENT_WINDOW_SECONDS = 600.0
PAUSE_REASONS_SHOWN = 20
_REASON_MAX = 80
# Interaction answers must start within 3 seconds; the buckets are dense below that.
_INTERACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class DatabaseSummary:
    """The database as an operator sees it at one moment."""

    # state ("active", "paused", "finished") -> number of serials
    serials: dict[str, int] = field(default_factory=dict)
    # pause reason -> number of paused serials
    paused: dict[str, int] = field(default_factory=dict)
    # serials whose next part is due now and not yet posted
    due: int = 0
    # how long the longest-waiting due part has been due, in seconds (0 when none is due)
    oldest_due_seconds: float = 0.0


class _Recent:
    """Events in the last ``RECENT_WINDOW_SECONDS``, counted when scraped."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def add(self) -> None:
        now = time.monotonic()
        self._times.append(now)
        cutoff = now - RECENT_WINDOW_SECONDS
        while self._times and self._times[0] < cutoff:
            self._times.popleft()

    def count(self) -> int:
        cutoff = time.monotonic() - RECENT_WINDOW_SECONDS
        # A copy: the scrape may run on another thread than the one adding events.
        return sum(1 for moment in list(self._times) if moment >= cutoff)


class Metrics:
    """One set of metrics in its own registry (so tests can start from zero)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.info = Gauge(
            "serialbot_info", "Always 1; the version is a label.", ["version"], registry=r
        )
        self.info.labels(__version__).set(1)
        self.parts_posted = Counter(
            "serialbot_parts_posted",
            "Parts posted, by what triggered them (schedule or a reader's request).",
            ["trigger"],
            registry=r,
        )
        self.parts_delayed = Counter(
            "serialbot_parts_delayed",
            "Posts put off to be tried again later, by the kind of failure.",
            ["reason"],
            registry=r,
        )
        self.parts_failed = Counter(
            "serialbot_parts_failed",
            "Posts refused for good (the serial is paused), by the kind of failure.",
            ["reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "serialbot_discord_rate_limited",
            "HTTP 429 answers from Discord, by scope (user, global, shared, cloudflare).",
            ["scope"],
            registry=r,
        )
        self.invalid_requests = Counter(
            "serialbot_discord_invalid_requests",
            "Answers Discord counts towards its invalid request limit (401, 403, 429).",
            ["status"],
            registry=r,
        )
        self.interaction_seconds = Histogram(
            "serialbot_interaction_seconds",
            "Time from receiving a slash command to finishing its answer.",
            ["command"],
            buckets=_INTERACTION_BUCKETS,
            registry=r,
        )
        self.database_errors = Counter(
            "serialbot_database_errors",
            "Database operations that failed, by operation.",
            ["operation"],
            registry=r,
        )
        self.recent_rate_limited = _Recent()
        self.recent_invalid = _Recent()
        self._dynamic = _Dynamic(self)
        r.register(self._dynamic)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class _Dynamic(Collector):
    """Gauges read at scrape time: recent Discord trouble, the gateway, the database."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self.gateway_latency: Callable[[], float | None] | None = None
        self.gateway_connected: Callable[[], bool] | None = None
        self.database: Callable[[], DatabaseSummary] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        m = self._metrics
        yield GaugeMetricFamily(
            "serialbot_discord_rate_limited_recent",
            f"HTTP 429 answers from Discord in the last {RECENT_WINDOW_SECONDS:.0f} seconds.",
            value=m.recent_rate_limited.count(),
        )
        yield GaugeMetricFamily(
            "serialbot_discord_invalid_requests_recent",
            f"Invalid requests (401, 403, 429) in the last {RECENT_WINDOW_SECONDS:.0f} seconds.",
            value=m.recent_invalid.count(),
        )
        if self.gateway_connected is not None:
            yield GaugeMetricFamily(
                "serialbot_gateway_connected",
                "1 while the gateway connection is up, else 0.",
                value=1 if self.gateway_connected() else 0,
            )
        if self.gateway_latency is not None:
            latency = self.gateway_latency()
            if latency is not None:
                yield GaugeMetricFamily(
                    "serialbot_gateway_latency_seconds",
                    "Time between a gateway heartbeat and its acknowledgement.",
                    value=latency,
                )
        if self.database is not None:
            # One scrape at a time reads the database.
            with self._lock:
                try:
                    summary = self.database()
                except Exception as error:
                    # The rest of the scrape still answers; the failure is counted and logged.
                    log.warning("metrics: cannot read the database summary: %s", error)
                    m.database_errors.labels("metrics").inc()
                    return
            yield from _database_families(summary)


def _database_families(summary: DatabaseSummary) -> Iterator[GaugeMetricFamily]:
    serials = GaugeMetricFamily(
        "serialbot_serials", "Serials (subscribed channels) by state.", labels=["state"]
    )
    for state in ("active", "paused", "finished"):
        serials.add_metric([state], summary.serials.get(state, 0))
    yield serials
    paused = GaugeMetricFamily(
        "serialbot_serials_paused",
        f"Paused serials by reason (the {PAUSE_REASONS_SHOWN} commonest; the rest as other).",
        labels=["reason"],
    )
    ranked = sorted(summary.paused.items(), key=lambda item: (-item[1], item[0]))
    shown: dict[str, int] = {}
    for reason, count in ranked[:PAUSE_REASONS_SHOWN]:
        label = " ".join(reason.split())[:_REASON_MAX] or "none given"
        shown[label] = shown.get(label, 0) + count
    other = sum(count for _, count in ranked[PAUSE_REASONS_SHOWN:])
    if other:
        shown["other"] = shown.get("other", 0) + other
    for label, count in shown.items():
        paused.add_metric([label], count)
    yield paused
    yield GaugeMetricFamily(
        "serialbot_due_backlog",
        "Serials whose next part is due now and not yet posted.",
        value=summary.due,
    )
    yield GaugeMetricFamily(
        "serialbot_oldest_due_age_seconds",
        "How long the longest-waiting due part has been due (0 when none is).",
        value=summary.oldest_due_seconds,
    )


# --- the active set ----------------------------------------------------------------------------

_active: Metrics | None = None


def enable() -> Metrics:
    """Start counting (a fresh set of metrics) and return it."""
    global _active
    _active = Metrics()
    return _active


def disable() -> None:
    """Stop counting; the reporting functions return at once again."""
    global _active
    _active = None


def current() -> Metrics | None:
    return _active


@contextmanager
def collecting() -> Iterator[Metrics]:
    """Count within a block (for tests and short runs), then stop."""
    metrics = enable()
    try:
        yield metrics
    finally:
        if _active is metrics:
            disable()


def watch_gateway(
    latency: Callable[[], float | None], connected: Callable[[], bool] | None = None
) -> None:
    """Read the gateway's heartbeat latency (seconds, None when unknown) and whether it is
    connected at each scrape."""
    if _active is not None:
        _active._dynamic.gateway_latency = latency
        _active._dynamic.gateway_connected = connected


def watch_database(summary: Callable[[], DatabaseSummary]) -> None:
    """Read the database summary at each scrape. Called on the scrape's thread: it must open its
    own (read-only) connection, never share the bot's."""
    if _active is not None:
        _active._dynamic.database = summary


# --- events ------------------------------------------------------------------------------------


def part_posted(trigger: str) -> None:
    """A part reached its channel; ``trigger`` is "schedule" or "request"."""
    if _active is not None:
        _active.parts_posted.labels(trigger).inc()


def part_delayed(reason: str) -> None:
    """A post failed in a passing way and will be tried again later; ``reason`` is the kind of
    failure ("transient", "rate_limited", or "unexpected" for an error of no known kind)."""
    if _active is not None:
        _active.parts_delayed.labels(reason).inc()


def part_failed(reason: str) -> None:
    """A post was refused for good and the serial paused; ``reason`` is the kind of failure
    ("forbidden", "refused" or "gone")."""
    if _active is not None:
        _active.parts_failed.labels(reason).inc()


def rate_limited(scope: str) -> None:
    """Discord answered 429; ``scope`` as in its X-RateLimit-Scope header ("user", "global",
    "shared"), or "cloudflare" for a ban without that header."""
    if _active is not None:
        _active.rate_limited.labels(scope).inc()
        _active.recent_rate_limited.add()


def invalid_request(status: int) -> None:
    """Discord answered 401, 403 or 429 (a 429 with scope "shared" does not count)."""
    if _active is not None:
        _active.invalid_requests.labels(str(status)).inc()
        _active.recent_invalid.add()


def interaction_handled(command: str, seconds: float) -> None:
    """A slash command was answered ``seconds`` after it arrived."""
    if _active is not None:
        _active.interaction_seconds.labels(command).observe(seconds)


def database_error(operation: str) -> None:
    """A database operation failed (``operation`` names it: "deliver", "subscribe" ...)."""
    if _active is not None:
        _active.database_errors.labels(operation).inc()

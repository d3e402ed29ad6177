"""How the scheduler behaves: concurrency, requests on demand, catch-up and retry timing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, get_args

from bot.shards import ShardSet
from bot.store import CatchUp
from bot.story import Serial

if TYPE_CHECKING:
    from bot.config import Config


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    concurrency: int = 4
    next_cooldown: timedelta = timedelta(minutes=30)
    next_quorum: int = 1
    quorum_window: timedelta = timedelta(minutes=30)
    catch_up: CatchUp = "one"
    catch_up_cap: int = 3
    catch_up_spacing: timedelta = timedelta(minutes=10)
    retry_base: timedelta = timedelta(minutes=1)
    retry_max: timedelta = timedelta(hours=1)
    # The shards this process runs: only their servers are scheduled here (None: every server).
    shards: ShardSet | None = None
    # With a database other processes share: how long a process's claim on a channel lasts
    # unless renewed (real seconds), and how often the loop looks for work they left or changed.
    claim_seconds: float = 60.0
    poll_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.next_quorum < 1:
            raise ValueError("next_quorum must be at least 1")
        if self.catch_up not in get_args(CatchUp):
            raise ValueError(f"catch_up must be one of {', '.join(get_args(CatchUp))}")
        if self.catch_up_cap < 1:
            raise ValueError("catch_up_cap must be at least 1")
        negative = [
            name
            for name in ("next_cooldown", "quorum_window", "catch_up_spacing")
            if getattr(self, name) < timedelta(0)
        ]
        if negative:
            raise ValueError(f"{', '.join(negative)} must not be negative")
        if self.retry_base <= timedelta(0) or self.retry_max < self.retry_base:
            raise ValueError("retry_base must be positive and retry_max at least retry_base")

    @classmethod
    def from_config(cls, config: Config) -> SchedulerSettings:
        return cls(
            concurrency=config.concurrency,
            next_cooldown=timedelta(minutes=config.next.cooldown_minutes),
            next_quorum=config.next.quorum,
            quorum_window=timedelta(minutes=config.next.quorum_window_minutes),
            catch_up=config.catch_up.policy,
            catch_up_cap=config.catch_up.cap,
            catch_up_spacing=timedelta(minutes=config.catch_up.spacing_minutes),
        )

    def backoff(self, attempt: int) -> timedelta:
        """The wait before retry number ``attempt`` (1, 2, ...): doubling, capped."""
        if attempt >= 40:
            return self.retry_max
        return min(self.retry_base * 2 ** max(0, attempt - 1), self.retry_max)


class SerialSource(Protocol):
    """Where serials come from (the library)."""

    def get(self, slug: str) -> Serial | None: ...

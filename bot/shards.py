"""Which servers a process serves. Discord splits a bot's servers into shards by
``(guild_id >> 22) % shard_count``; a process that runs some of the shards receives only their
servers' events, so it schedules and posts only for them (and the store is asked only for their
subscriptions). One process running every shard needs no filter at all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ShardSet", "shard_of"]


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a server's events (Discord's formula)."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True, slots=True)
class ShardSet:
    """The shards one process runs: ``ids`` out of ``count``."""

    count: int
    ids: frozenset[int]

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("a bot has at least one shard")
        if not self.ids or any(not 0 <= i < self.count for i in self.ids):
            raise ValueError(f"shard ids must be some of 0 to {self.count - 1}")

    @classmethod
    def of(cls, count: int, ids: Iterable[int] | None = None) -> ShardSet:
        """``ids`` None: every shard."""
        return cls(count, frozenset(range(count) if ids is None else ids))

    @property
    def everything(self) -> bool:
        """Whether every server is this process's (no filter needed)."""
        return len(self.ids) == self.count

    def covers(self, guild_id: int) -> bool:
        return self.everything or shard_of(guild_id, self.count) in self.ids

    def sql(self, column: str = "guild_id") -> str:
        """A condition on ``column`` that holds for this process's servers, for SQLite and
        PostgreSQL alike. Only numbers of our own go into it, never input."""
        if self.everything:
            return "1 = 1"
        listed = ", ".join(str(i) for i in sorted(self.ids))
        return f"(({column} >> 22) % {int(self.count)}) IN ({listed})"

    def describe(self) -> str:
        """For logs: "shard 1 of 2", "shards 0-2 of 6", "shards 0, 4 of 6"."""
        ids = sorted(self.ids)
        if len(ids) == 1:
            return f"shard {ids[0]} of {self.count}"
        if ids == list(range(ids[0], ids[-1] + 1)):
            listed = f"{ids[0]}-{ids[-1]}"
        else:
            listed = ", ".join(map(str, ids))
        return f"shards {listed} of {self.count}"

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.shards import ShardSet, shard_of


@given(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=1, max_value=64))
def test_every_guild_is_covered_by_exactly_one_process_of_a_cluster(
    guild_id: int, count: int
) -> None:
    cluster = [ShardSet.of(count, [i]) for i in range(count)]
    assert sum(part.covers(guild_id) for part in cluster) == 1
    assert cluster[shard_of(guild_id, count)].covers(guild_id)


def test_describe_names_the_shards() -> None:
    assert ShardSet.of(2, [1]).describe() == "shard 1 of 2"
    assert ShardSet.of(6, [0, 1, 2]).describe() == "shards 0-2 of 6"
    assert ShardSet.of(6, [0, 4]).describe() == "shards 0, 4 of 6"
    assert ShardSet.of(1).everything and ShardSet.of(1).sql() == "1 = 1"
    assert ShardSet.of(4, [1, 3]).sql() == "((guild_id >> 22) % 4) IN (1, 3)"


@pytest.mark.parametrize(("count", "ids"), [(0, []), (2, [2]), (2, [])])
def test_impossible_shard_sets_are_refused(count: int, ids: list[int]) -> None:
    with pytest.raises(ValueError):
        ShardSet.of(count, ids)

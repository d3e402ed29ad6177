"""What the Discord layer tells the metrics (``bot.metrics``) besides the REST answers the pacer
counts: whether the gateway is connected, its heartbeat latency, and how long slash commands
take."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord

from bot import metrics

if TYPE_CHECKING:
    from discord import app_commands


def gateway_connected(client: discord.AutoShardedClient) -> bool:
    """Every shard this process runs has an open gateway connection."""
    if client.is_closed():
        return False
    shards = client.shards
    return bool(shards) and all(not shard.is_closed() for shard in shards.values())


def gateway_latency(client: discord.Client) -> float | None:
    latency = client.latency
    return latency if math.isfinite(latency) else None


def command_answered(interaction: discord.Interaction, command: app_commands.Command) -> None:
    """A slash command finished: the time since Discord created the interaction."""
    elapsed = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    metrics.interaction_handled(command.qualified_name, max(0.0, elapsed))

"""The Discord client: connects with the ``guilds`` intent only, registers ``/serial``, syncs it
when its definition changed, and runs the scheduler for as long as the connection lives.

It is sharded (``AutoShardedClient``): one process runs every shard, or the shards named in the
configuration, and then schedules only for the servers on them; the shard count is the
configured one or Discord's recommendation."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.catalog import Catalog
from bot.clock import Clock, SystemClock
from bot.frontend.commands import SerialCommands
from bot.frontend.endpoint import Endpoint
from bot.frontend.gateway import UnreadableEvents
from bot.frontend.observe import command_answered
from bot.frontend.pacing import RestGuard
from bot.frontend.poster import DiscordPoster
from bot.frontend.together import UNKNOWN_BUTTON, ReadingRoom
from bot.frontend.tree import SerialTree
from bot.frontend.views import DYNAMIC_ITEMS, ReadButton, is_ours, press_unshown, shown, view_of
from bot.pacing import RestHealth
from bot.retention import CHECK_EVERY_SECONDS, every, purge_departed
from bot.scheduler import Scheduler, SchedulerSettings
from bot.shards import ShardSet
from bot.shared_pacing import SharedPacer, pacer_for
from bot.store import FILE_MODE
from bot.together import ReadingTogether
from bot.uploads import UploadLimits

if TYPE_CHECKING:
    from bot.config import Config
    from bot.library import Library
    from bot.storage import SerialStore

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0


def _without_voice_warnings(record: logging.LogRecord) -> bool:
    # discord.py warns at start-up that voice needs PyNaCl and davey: this bot has no voice.
    return "voice will NOT be supported" not in record.getMessage()


class SerialBot(discord.AutoShardedClient):
    """Takes resources that are already open (the runner owns their lifetime); tests pass a
    ``ManualClock`` and their own library."""

    def __init__(
        self,
        *,
        config: Config,
        store: SerialStore,
        library: Library,
        clock: Clock | None = None,
        sync_state: Path | None = None,
        **options: Any,
    ) -> None:
        _voice_log = logging.getLogger("discord.client")
        if _without_voice_warnings not in _voice_log.filters:
            _voice_log.addFilter(_without_voice_warnings)
        intents = discord.Intents.none()
        intents.guilds = True
        shards = config.shards
        options.setdefault("shard_count", shards.count)
        options.setdefault("shard_ids", list(shards.ids) if shards.ids is not None else None)
        # Every REST request of this client waits its turn here (see bot.frontend.pacing).
        # With a database shared by several processes, they share the bot's rate through it.
        self.rest_guard = RestGuard(pacer_for(store, config.discord.requests_per_second))
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            http_trace=self.rest_guard.trace(),
            **options,
        )
        self._unreadable = UnreadableEvents(self)
        self.config = config
        self.store = store
        self.library = library
        # The shared library plus each server's uploads: what the scheduler and commands read.
        self.catalog = Catalog(library)
        self.upload_limits = UploadLimits.from_config(config.uploads)
        self.clock: Clock = clock or SystemClock()
        self.sync_state = sync_state
        self.tree = SerialTree(self)
        self.poster = DiscordPoster(
            self,
            auto_archive_minutes=config.threads.auto_archive_minutes,
            threads=config.threads.enabled,
            health=self.rest_guard.health,
        )
        self._scheduler: Scheduler | None = None
        self._retention: asyncio.Task[None] | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self._shard_set: ShardSet | None = None
        # The operator's /metrics and /healthz, when ``metrics.port`` is set.
        self.endpoint: Endpoint | None = None
        self.reading = ReadingRoom(self, discussion_rule=config.threads.discussion_rule)
        self.poster.header_view = lambda nonce: view_of(ReadButton(nonce))

    @property
    def rest_health(self) -> RestHealth:
        """Requests sent, 429s, invalid requests in the last ten minutes, and any pause Discord
        imposed: for status and metrics."""
        return self.rest_guard.health

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            raise RuntimeError("the scheduler starts in setup_hook")
        return self._scheduler

    @property
    def shard_set(self) -> ShardSet:
        """The shards this process runs (known once logged in)."""
        if self._shard_set is None:
            raise RuntimeError("the shards are known in setup_hook")
        return self._shard_set

    @property
    def scheduler_running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    async def setup_hook(self) -> None:
        if self.config.metrics.port is not None and self.endpoint is None:
            # First, so /healthz answers (503) while the bot is still connecting.
            endpoint = Endpoint(self, self.config.metrics.port)
            await endpoint.start()
            self.endpoint = endpoint
        await self._resolve_shards()
        # Runs again when a login that failed half-way (network trouble) is tried again.
        if self.tree.get_command("serial") is None:
            self.tree.add_command(SerialCommands(self))
        await self._sync_commands()
        if self._scheduler is not None:
            return
        await self.catalog.load(self.store.uploads())
        self._scheduler = Scheduler(
            self.store,
            self.catalog,
            self.poster,
            self.clock,
            self._scheduler_settings(),
            default_timezone=self.config.default_timezone,
            on_posted=self.reading.part_posted,
        )
        # Buttons posted by any earlier run keep working: they are matched by their ids.
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self.reading.start(ReadingTogether(self.store, self._scheduler, self.clock))
        await self._scheduler.start()
        self._retention = asyncio.create_task(self._keep_purging())
        if getattr(self.store, "shared", False):
            # Other processes add and replace stories too: take their changes in now and then.
            self._refreshing = asyncio.create_task(
                every(
                    self.config.cluster.poll_seconds,
                    lambda: self.catalog.refresh(self.store.uploads()),
                    "Could not read the servers' uploaded stories",
                    first=False,
                )
            )
        log.info(
            "scheduler started with %d stories for %s",
            len(self.library.serials),
            self.shard_set.describe(),
        )

    def _scheduler_settings(self) -> SchedulerSettings:
        cluster = self.config.cluster
        shared = getattr(self.store, "shared", False)
        return dataclasses.replace(
            SchedulerSettings.from_config(self.config),
            shards=self.shard_set,
            claim_seconds=cluster.claim_seconds,
            # Other processes change a shared database: look at it again now and then.
            poll_seconds=cluster.poll_seconds if shared else None,
        )

    async def _resolve_shards(self) -> None:
        """Ask Discord for the shard count when none is configured, before the scheduler starts
        (it must know which servers are this process's); ``launch_shards`` then uses it."""
        if self.shard_count is None:
            self.shard_count, _, _ = await self.http.get_bot_gateway()
            log.info("Discord recommends %d shard(s)", self.shard_count)
        self._shard_set = ShardSet.of(self.shard_count, self.shard_ids)
        pacer = self.rest_guard.pacer
        if isinstance(pacer, SharedPacer):
            pacer.share = len(self._shard_set.ids) / self._shard_set.count

    async def close(self) -> None:
        # Stop posting first, so an in-flight post finishes while the connection still exists;
        # but not for longer than a service manager waits before it kills (systemd: 90 s).
        scheduler, self._scheduler = self._scheduler, None
        for task in (self._retention, self._refreshing):
            if task is not None:
                task.cancel()
        self._retention = self._refreshing = None
        if scheduler is not None:
            await scheduler.stop(grace=SHUTDOWN_GRACE_SECONDS)
        await self.reading.stop()
        self._unreadable.cancel()
        await super().close()
        endpoint, self.endpoint = self.endpoint, None
        if endpoint is not None:
            await endpoint.stop()

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command[Any, ..., Any]
    ) -> None:
        command_answered(interaction, command)
        await self.reading.tell_refused_reminders(interaction)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        # A button none of ours answers (forged, or from a version that is gone) still gets an
        # answer, so the member is not left with "This interaction failed".
        if interaction.type is not discord.InteractionType.component:
            return
        if shown(interaction) and is_ours(str((interaction.data or {}).get("custom_id"))):
            return  # discord.py calls the button
        if not await press_unshown(interaction):
            try:
                await interaction.response.send_message(UNKNOWN_BUTTON, ephemeral=True)
            except discord.HTTPException:
                log.info("could not answer a press of an unknown button")

    async def on_ready(self) -> None:
        log.info(
            "connected as %s to %d servers (%s)",
            self.user,
            len(self.guilds),
            self.shard_set.describe() if self._shard_set else "shards unknown",
        )

    async def on_shard_ready(self, shard_id: int) -> None:
        servers = sum(1 for guild in self.guilds if guild.shard_id == shard_id)
        log.info("shard %d of %s ready with %d servers", shard_id, self.shard_count, servers)

    async def _keep_purging(self) -> None:
        # Not before the servers are known: one the bot is back in must not be purged.
        await self.wait_until_ready()
        await every(
            CHECK_EVERY_SECONDS,
            self._purge_departed,
            "Could not delete the data of servers the bot has left",
        )

    async def _purge_departed(self) -> list[int]:
        return await purge_departed(
            self.store,
            now=self.clock.now(),
            retention_days=self.upload_limits.retention_days,
            catalog=self.catalog,
            still_here=lambda guild_id: self.get_guild(guild_id) is not None,
        )

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        if self._scheduler is not None:
            await self._scheduler.pause_guild(guild.id, "the bot was removed from the server")
        # Its uploads and progress are kept for the retention period, then purged.
        await self.store.uploads().guild_left(guild.id, self.clock.now())

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.store.uploads().guild_back(guild.id)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        # Paused at once, and the server told once (in its system channel), rather than finding
        # out at the next post with a failing request.
        if self._scheduler is not None:
            await self._scheduler.pause_unreachable(channel.id, f"#{channel.name} was deleted")

    async def _sync_commands(self) -> None:
        """Sync only when the command definitions (or their target) changed: command creation
        is limited per day, and a global sync takes a while to reach clients."""
        guild_id = self.config.commands.sync_guild
        guild = discord.Object(guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(
            json.dumps([self.application_id, guild_id, payload], sort_keys=True).encode()
        ).hexdigest()
        previous = self._read_sync_state()
        if previous.get("digest") == digest:
            log.info("slash commands unchanged; not syncing")
            return
        try:
            old_guild = previous.get("guild")
            if old_guild and old_guild != guild_id:
                # Moving from a test guild to global (or another guild): leave no stale copy.
                old = discord.Object(old_guild)
                self.tree.clear_commands(guild=old)
                await self.tree.sync(guild=old)
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as error:
            log.error(
                "could not sync slash commands (%s); was the bot invited with the "
                "applications.commands scope?",
                error,
            )
            return
        log.info(
            "synced %d slash commands %s",
            len(synced),
            f"to guild {guild_id}" if guild_id else "globally",
        )
        self._write_sync_state({"digest": digest, "guild": guild_id})

    def _read_sync_state(self) -> dict[str, object]:
        if self.sync_state is None:
            return {}
        try:
            data = json.loads(self.sync_state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_sync_state(self, state: dict[str, object]) -> None:
        if self.sync_state is None:
            return
        try:
            # Beside the database, and as private as it is.
            descriptor = os.open(self.sync_state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with open(descriptor, "w", encoding="utf-8") as file:
                file.write(json.dumps(state))
        except OSError as error:
            log.warning("could not record the command sync in %s: %s", self.sync_state, error)

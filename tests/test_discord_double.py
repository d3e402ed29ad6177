"""The Discord API double, driven by plain discord.py (no project code): what discord.py sends must
be accepted, refused or answered exactly as Discord would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from tests.discord_double import (
    FAST_GUILD_READY_TIMEOUT,
    CallbackType,
    CommandUnavailable,
    DiscordDouble,
    ErrorCode,
    Permission,
    connected_client,
    default_client,
    limits,
)

ROOT = Path(__file__).resolve().parents[1]


def _guild_intents(**extra: bool) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    for name, value in extra.items():
        setattr(intents, name, value)
    return intents


def _serial_tree(client: discord.Client, guild_id: int) -> app_commands.CommandTree:
    """A ``/serial`` group like a serial bot's: an immediate answer, a deferred one, an
    autocomplete, a slow one and an admin-only group default."""
    tree = app_commands.CommandTree(client)
    group = app_commands.Group(
        name="serial",
        description="Follow a story",
        default_permissions=discord.Permissions(manage_channels=True),
        guild_only=True,
    )

    @group.command(name="status", description="Where this channel is")
    async def status(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Part 3 of 7", ephemeral=True)

    @group.command(name="next", description="Post the next part now")
    async def next_part(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("Part 4 is up")

    @group.command(name="subscribe", description="Follow a story here")
    @app_commands.describe(story="Story to post", start_part="Part to start at")
    async def subscribe(
        interaction: discord.Interaction,
        story: str,
        schedule: str,
        start_part: app_commands.Range[int, 1, 500] = 1,
    ) -> None:
        perms = interaction.permissions.manage_channels
        await interaction.response.send_message(
            f"{story}|{schedule}|{start_part}|{perms}|{interaction.channel_id}"
        )

    @subscribe.autocomplete("story")
    async def story_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = [f"{current}-{i}" for i in range(40)]
        return [
            app_commands.Choice(name=n, value=n) for n in names[: limits.AUTOCOMPLETE_CHOICES_MAX]
        ]

    @group.command(name="slow", description="Answers too late")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as error:
            client.late_error = error  # type: ignore[attr-defined]

    tree.add_command(group)
    tree.copy_global_to(guild=discord.Object(guild_id))
    return tree


# login, world and events


async def test_login_reaches_ready_with_default_world_visible(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    guild = discord_client.get_guild(discord_double.guild_id)
    assert guild is not None and discord_client.user is not None
    assert discord_client.user.id == discord_double.bot_id
    assert discord_client.application_id == discord_double.application_id
    channels = {c.name: c for c in guild.channels}
    assert set(channels) == {"general", "announcements", "forum", "mature", "system"}
    assert isinstance(channels["general"], discord.TextChannel)
    assert channels["announcements"].type is discord.ChannelType.news
    assert isinstance(channels["forum"], discord.ForumChannel)
    assert channels["mature"].is_nsfw() and not channels["general"].is_nsfw()
    assert guild.system_channel == channels["system"]
    perms = channels["general"].permissions_for(guild.me)
    needed = discord.Permissions(int(limits.BOT_PERMISSIONS))
    assert perms.is_superset(needed)
    assert not (perms.administrator or perms.mention_everyone or perms.manage_messages)
    assert perms.value == discord_double.bot_permissions(discord_double.channels["general"])
    assert perms.value == int(limits.BOT_PERMISSIONS | Permission.use_application_commands)


def test_permission_bits_match_discord_py() -> None:
    for permission in Permission:
        assert discord.Permissions(int(permission)) == discord.Permissions(
            **{permission.name: True}
        )


async def test_rejected_token_is_a_login_failure(discord_double: DiscordDouble) -> None:
    client = default_client()
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


async def test_privileged_intent_not_approved_closes_with_4014(
    discord_double: DiscordDouble,
) -> None:
    client = default_client(intents=_guild_intents(message_content=True))
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with connected_client(discord_double, client, timeout=5.0):
            pass


async def test_new_guild_and_channel_reach_a_connected_client(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    joined: asyncio.Future[discord.Guild] = asyncio.get_running_loop().create_future()
    discord_client.event(_resolver("on_guild_join", joined))
    guild_id = await discord_double.add_guild("Second", channels=("stories",))
    guild = await asyncio.wait_for(joined, 2)
    assert guild.id == guild_id and [c.name for c in guild.text_channels] == ["stories"]
    channel_id = await discord_double.add_channel("late-arrival", "forum")
    await _until(lambda: discord_client.get_channel(channel_id) is not None)


# messages


async def test_message_is_stored_with_author_and_nonce(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    sent = await channel.send("Part 1", nonce="part-1-of-story")
    [stored] = discord_double.messages(channel.id)
    assert (stored.id, stored.content, stored.author_id) == (
        sent.id,
        "Part 1",
        discord_double.bot_id,
    )
    assert stored.nonce == "part-1-of-story" == sent.nonce
    assert sent.author.id == discord_double.bot_id


async def test_message_over_2000_characters_is_refused_with_50035(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    await channel.send("x" * limits.MESSAGE_CONTENT_MAX)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * (limits.MESSAGE_CONTENT_MAX + 1))
    assert (caught.value.status, caught.value.code) == (400, ErrorCode.INVALID_FORM_BODY)
    assert "content" in caught.value.text
    assert len(discord_double.messages(channel.id)) == 1


async def test_embed_limits_are_enforced(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    await channel.send(embed=discord.Embed(description="d" * limits.EMBED_DESCRIPTION_MAX))
    too_long = discord.Embed(description="d" * (limits.EMBED_DESCRIPTION_MAX + 1))
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embed=too_long)
    assert caught.value.code == ErrorCode.INVALID_FORM_BODY and "description" in caught.value.text
    within_each = [discord.Embed(description="d" * 4000) for _ in range(2)]
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embeds=within_each)
    assert "6000" in caught.value.text


async def test_empty_message_is_refused_with_50006(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("")
    assert caught.value.code == ErrorCode.CANNOT_SEND_EMPTY_MESSAGE


async def test_same_nonce_within_the_window_returns_the_first_message(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    first = await channel.send("Part 2", nonce="s1-p2")
    again = await channel.send("Part 2", nonce="s1-p2")
    assert again.id == first.id
    assert len(discord_double.messages(channel.id)) == 1
    discord_double.advance_clock(limits.NONCE_WINDOW_SECONDS + 1)
    later = await channel.send("Part 2", nonce="s1-p2")
    assert later.id != first.id
    assert len(discord_double.duplicate_messages()) == 1


async def test_answer_lost_after_commit_is_deduplicated_on_retry(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    discord_double.fail_next("POST", r"^/channels/\d+/messages$", 1, status=500, commit=True)
    sent = await channel.send("Part 3", nonce="s1-p3")
    assert [m.id for m in discord_double.messages(channel.id)] == [sent.id]
    statuses = [r.status for r in discord_double.requests_to("POST", r"/messages$")]
    assert statuses == [500, 200]


async def test_everyone_and_mentions_follow_allowed_mentions_and_permissions(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    reader = discord_double.reader_id
    await channel.send(f"@everyone <@{reader}>")
    await channel.send(f"@everyone <@{reader}>", allowed_mentions=discord.AllowedMentions.none())
    loud, quiet = discord_double.messages(channel.id)
    assert not loud.mention_everyone  # the bot lacks Mention Everyone
    assert loud.mentions == [reader] and loud.would_ping
    assert quiet.mentions == [] and not quiet.would_ping
    assert quiet.allowed_mentions == {"parse": []}
    await discord_double.grant(discord_double.guild_id, "mention_everyone")
    await channel.send("@here hello")
    assert discord_double.messages(channel.id)[-1].mention_everyone


async def test_history_pages_newest_first(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    sent = [await channel.send(f"m{i}") for i in range(5)]
    newest = [m.content async for m in channel.history(limit=3)]
    assert newest == ["m4", "m3", "m2"]
    after = [m.content async for m in channel.history(after=sent[1], limit=10)]
    assert after == ["m2", "m3", "m4"]
    before = [m.content async for m in channel.history(before=sent[2], limit=10)]
    assert before == ["m1", "m0"]


async def test_member_messages_reach_on_message_without_content(
    discord_double: DiscordDouble,
) -> None:
    client = default_client(intents=_guild_intents(guild_messages=True))
    seen: asyncio.Future[discord.Message] = asyncio.get_running_loop().create_future()
    client.event(_resolver("on_message", seen))
    async with connected_client(discord_double, client):
        channel_id = discord_double.channels["general"]
        await discord_double.post_as(discord_double.reader_id, channel_id, "spoilers!")
        message = await asyncio.wait_for(seen, 2)
        assert message.author.id == discord_double.reader_id
        assert message.content == ""  # no message-content intent
        [stored] = discord_double.messages(channel_id)
        assert stored.content == "spoilers!"


# threads and forums


async def test_thread_from_message_is_public_and_only_once(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    message = await channel.send("Part 1")
    thread = await message.create_thread(name="Story · Part 1", auto_archive_duration=10080)
    assert thread.id == message.id and thread.type is discord.ChannelType.public_thread
    assert thread.auto_archive_duration == 10080
    await thread.send("Discuss here")
    [stored] = discord_double.threads(channel.id)
    assert (stored.name, stored.owner_id) == ("Story · Part 1", discord_double.bot_id)
    assert [m.content for m in discord_double.messages(thread.id)] == ["Discuss here"]
    assert discord_double.message(message.id).thread_id == thread.id
    with pytest.raises(discord.HTTPException) as caught:
        await message.create_thread(name="again")
    assert caught.value.code == ErrorCode.THREAD_ALREADY_CREATED


async def test_thread_name_and_archive_duration_are_checked(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    message = await channel.send("Part 1")
    with pytest.raises(discord.HTTPException) as caught:
        await message.create_thread(name="n" * (limits.THREAD_NAME_MAX + 1))
    assert caught.value.code == ErrorCode.INVALID_FORM_BODY and "name" in caught.value.text
    with pytest.raises(discord.HTTPException) as caught:
        await message.create_thread(name="ok", auto_archive_duration=30)  # type: ignore[arg-type]
    assert "auto_archive_duration" in caught.value.text
    assert discord_double.threads(channel.id) == []


async def test_archived_thread_reopens_on_send_but_locked_refuses(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    thread = await (await channel.send("Part 1")).create_thread(name="Part 1")
    await discord_double.archive_thread(thread.id)
    await thread.send("still talking")
    assert not discord_double.channel(thread.id).archived
    await discord_double.archive_thread(thread.id, locked=True)
    with pytest.raises(discord.HTTPException) as caught:
        await thread.send("locked out")
    assert caught.value.code == ErrorCode.THREAD_ARCHIVED


async def test_threads_without_a_message(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    general = discord_client.get_channel(discord_double.channels["general"])
    news = discord_client.get_channel(discord_double.channels["announcements"])
    # without message= discord.py asks for a private thread, which a serial bot may not create
    with pytest.raises(discord.Forbidden) as caught:
        await general.create_thread(name="defaults to private")
    assert caught.value.code == ErrorCode.MISSING_PERMISSIONS
    public = await general.create_thread(name="open", type=discord.ChannelType.public_thread)
    announced = await news.create_thread(name="news", type=discord.ChannelType.news_thread)
    assert public.type is discord.ChannelType.public_thread
    assert announced.type is discord.ChannelType.news_thread
    # Discord announces public threads in their channel with a system message
    notices = [m for m in discord_double.messages(general.id) if m.type == 18]
    assert [m.content for m in notices] == ["open"]


async def test_forum_post_creates_thread_with_first_message(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    forum = discord_client.get_channel(discord_double.channels["forum"])
    post = await forum.create_thread(name="Story · Part 1", content="It was a dark night.")
    assert post.thread.id == post.message.id and post.thread.parent_id == forum.id
    [thread] = discord_double.threads(forum.id)
    assert [m.content for m in discord_double.messages(thread.id)] == ["It was a dark night."]
    with pytest.raises(discord.HTTPException) as caught:
        await discord_client.get_partial_messageable(forum.id).send("plain message")
    assert caught.value.code == ErrorCode.CANNOT_SEND_IN_FORUM


async def test_forum_requiring_a_tag_refuses_untagged_posts(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    forum_id = await discord_double.add_channel(
        "tagged", "forum", require_tag=True, tags=["serial"]
    )
    await _until(lambda: discord_client.get_channel(forum_id) is not None)
    forum = discord_client.get_channel(forum_id)
    with pytest.raises(discord.HTTPException) as caught:
        await forum.create_thread(name="untagged", content="text")
    assert caught.value.code == ErrorCode.FORUM_TAG_REQUIRED
    post = await forum.create_thread(
        name="tagged", content="text", applied_tags=forum.available_tags
    )
    assert [t.name for t in post.thread.applied_tags] == ["serial"]


# slash commands


async def test_slash_command_answered_immediately(discord_double: DiscordDouble) -> None:
    client = default_client()
    tree = _serial_tree(client, discord_double.guild_id)
    async with connected_client(discord_double, client):
        synced = await tree.sync(guild=discord.Object(discord_double.guild_id))
        assert [c.name for c in synced] == ["serial"]
        invoked = await discord_double.invoke(
            "serial subscribe",
            {"story": "you-left", "schedule": "daily 18:00"},
            user_id=discord_double.admin_id,
        )
        reply = await invoked.reply(timeout=2)
        general = discord_double.channels["general"]
        assert reply.content == f"you-left|daily 18:00|1|True|{general}"
        assert invoked.callback_type is CallbackType.channel_message and not invoked.ephemeral
        assert invoked.latency is not None and invoked.latency < limits.INTERACTION_DEADLINE_SECONDS
        assert discord_double.messages(general)[-1].id == reply.id
        options = invoked.payload["data"]["options"]
        assert options[0]["type"] == 1 and options[0]["name"] == "subscribe"
        assert [o["name"] for o in options[0]["options"]] == ["story", "schedule"]


async def test_ephemeral_answer_is_not_in_the_channel(discord_double: DiscordDouble) -> None:
    client = default_client()
    tree = _serial_tree(client, discord_double.guild_id)
    async with connected_client(discord_double, client):
        await tree.sync(guild=discord.Object(discord_double.guild_id))
        invoked = await discord_double.invoke("serial status", user_id=discord_double.admin_id)
        assert (await invoked.reply(timeout=2)).content == "Part 3 of 7"
        assert invoked.ephemeral
        assert discord_double.messages(discord_double.channels["general"]) == []


async def test_deferred_command_is_completed_by_its_followup(discord_double: DiscordDouble) -> None:
    client = default_client()
    tree = _serial_tree(client, discord_double.guild_id)
    async with connected_client(discord_double, client):
        await tree.sync(guild=discord.Object(discord_double.guild_id))
        invoked = await discord_double.invoke("serial next", user_id=discord_double.admin_id)
        assert await invoked.response(timeout=2) is CallbackType.deferred_channel_message
        reply = await invoked.reply(timeout=2)
        assert reply.content == "Part 4 is up"
        assert invoked.messages == [reply]  # the follow-up replaced the "thinking" message
        assert await invoked.text() == "Part 4 is up"


async def test_autocomplete_returns_the_bots_choices(discord_double: DiscordDouble) -> None:
    client = default_client()
    tree = _serial_tree(client, discord_double.guild_id)
    async with connected_client(discord_double, client):
        await tree.sync(guild=discord.Object(discord_double.guild_id))
        choices = await discord_double.autocomplete(
            "serial subscribe", {"story": "lig"}, user_id=discord_double.admin_id
        )
        assert len(choices) == limits.AUTOCOMPLETE_CHOICES_MAX
        assert choices[0] == {"name": "lig-0", "value": "lig-0"}
        focused = discord_double.interactions[-1].payload["data"]["options"][0]["options"]
        assert focused == [{"type": 3, "name": "story", "value": "lig", "focused": True}]


async def test_webhook_edits_follow_ups_and_deletes_reach_the_double(
    discord_double: DiscordDouble,
) -> None:
    client = default_client()
    tree = app_commands.CommandTree(client)
    seen: dict[str, str] = {}

    @tree.command(name="read", description="Re-read a part")
    async def read(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="Part 2, again")
        seen["original"] = (await interaction.original_response()).content
        extra = await interaction.followup.send("and a note", ephemeral=True, wait=True)
        await extra.edit(content="and a corrected note")
        await interaction.delete_original_response()

    guild = discord.Object(discord_double.guild_id)
    tree.copy_global_to(guild=guild)
    async with connected_client(discord_double, client):
        await tree.sync(guild=guild)
        invoked = await discord_double.invoke("read")
        note = await invoked.followup(0, timeout=2)
        await invoked.wait_for(lambda: invoked.original is None, timeout=2)
        assert seen["original"] == "Part 2, again"
        assert note.ephemeral and note.content == "and a corrected note"
        assert discord_double.messages(discord_double.channels["general"]) == []


async def test_commands_reach_the_bot_from_threads_and_dms(discord_double: DiscordDouble) -> None:
    client = default_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="where", description="Where was I used")
    async def where(interaction: discord.Interaction) -> None:
        kind = type(interaction.channel).__name__
        await interaction.response.send_message(f"{kind} {interaction.guild_id}")

    @tree.command(name="server", description="Servers only")
    @app_commands.guild_only()
    async def server(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    async with connected_client(discord_double, client):
        await tree.sync()
        general = client.get_channel(discord_double.channels["general"])
        thread = await (await general.send("Part 1")).create_thread(name="Part 1")
        in_thread = await discord_double.invoke("where", channel_id=thread.id)
        assert (await in_thread.reply(timeout=2)).content == f"Thread {discord_double.guild_id}"
        in_dm = await discord_double.invoke("where", dm=True)
        assert (await in_dm.reply(timeout=2)).content == "DMChannel None"
        with pytest.raises(CommandUnavailable):
            await discord_double.invoke("server", dm=True)


async def test_follow_up_before_any_answer_is_unknown_webhook(
    discord_double: DiscordDouble,
) -> None:
    client = default_client()
    tree = app_commands.CommandTree(client)
    failures: list[discord.HTTPException] = []

    @tree.command(name="hasty", description="Follows up without answering")
    async def hasty(interaction: discord.Interaction) -> None:
        try:
            await interaction.followup.send("too early")
        except discord.NotFound as error:
            failures.append(error)
            await interaction.response.send_message("answered properly")

    guild = discord.Object(discord_double.guild_id)
    tree.copy_global_to(guild=guild)
    async with connected_client(discord_double, client):
        await tree.sync(guild=guild)
        invoked = await discord_double.invoke("hasty")
        assert (await invoked.reply(timeout=2)).content == "answered properly"
        assert [f.code for f in failures] == [ErrorCode.UNKNOWN_WEBHOOK]


async def test_button_press_updates_its_message(discord_double: DiscordDouble) -> None:
    class Confirm(discord.ui.View):
        @discord.ui.button(label="Restart", custom_id="confirm-restart")
        async def confirm(
            self, interaction: discord.Interaction, button: discord.ui.Button
        ) -> None:
            await interaction.response.edit_message(content="Restarted", view=None)

    async with connected_client(discord_double) as client:
        view = Confirm(timeout=None)
        client.add_view(view)
        channel = client.get_channel(discord_double.channels["general"])
        prompt = await channel.send("Restart the story?", view=view)
        pressed = await discord_double.click(
            prompt.id, "confirm-restart", user_id=discord_double.admin_id
        )
        assert await pressed.response(timeout=2) is CallbackType.update_message
        stored = discord_double.message(prompt.id)
        assert (stored.content, stored.components) == ("Restarted", [])


@pytest.mark.discord_double(interaction_deadline=0.2)
async def test_late_first_response_gets_unknown_interaction(discord_double: DiscordDouble) -> None:
    client = default_client()
    tree = _serial_tree(client, discord_double.guild_id)
    async with connected_client(discord_double, client):
        await tree.sync(guild=discord.Object(discord_double.guild_id))
        invoked = await discord_double.invoke("serial slow", user_id=discord_double.admin_id)
        await invoked.wait_for(lambda: invoked.rejected, timeout=2)
        assert invoked.rejected == [(404, ErrorCode.UNKNOWN_INTERACTION)]
        await _until(lambda: hasattr(client, "late_error"))
        assert client.late_error.code == ErrorCode.UNKNOWN_INTERACTION  # type: ignore[attr-defined]
        assert not invoked.acknowledged


async def test_second_answer_to_one_interaction_gets_40060(discord_double: DiscordDouble) -> None:
    client = default_client()
    tree = _serial_tree(client, discord_double.guild_id)
    async with connected_client(discord_double, client):
        await tree.sync(guild=discord.Object(discord_double.guild_id))
        invoked = await discord_double.invoke("serial status", user_id=discord_double.admin_id)
        await invoked.reply(timeout=2)
        url = f"{discord_double.api_base}/interactions/{invoked.id}/{invoked.token}/callback"
        async with aiohttp.ClientSession() as session:
            answer = await session.post(url, json={"type": 4, "data": {"content": "twice"}})
            body = await answer.json()
        assert (answer.status, body["code"]) == (400, ErrorCode.INTERACTION_ALREADY_ACKNOWLEDGED)


async def test_admin_default_permissions_hide_command_from_readers(
    discord_double: DiscordDouble,
) -> None:
    client = default_client()
    tree = _serial_tree(client, discord_double.guild_id)
    async with connected_client(discord_double, client):
        await tree.sync(guild=discord.Object(discord_double.guild_id))
        with pytest.raises(CommandUnavailable):
            await discord_double.invoke("serial status")
        invoked = await discord_double.invoke(
            "serial subscribe", {"story": "a", "schedule": "b"}, override=True
        )
        assert (await invoked.reply(timeout=2)).content.endswith(
            f"|False|{discord_double.channels['general']}"
        )
        with pytest.raises(CommandUnavailable):
            await discord_double.invoke("serial nothing", override=True)


async def test_command_sync_keeps_ids_and_is_recorded(discord_double: DiscordDouble) -> None:
    client = default_client()
    tree = _serial_tree(client, discord_double.guild_id)
    guild = discord.Object(discord_double.guild_id)
    async with connected_client(discord_double, client):
        first = await tree.sync(guild=guild)
        second = await tree.sync(guild=guild)
        fetched = await tree.fetch_commands(guild=guild)
        assert [c.id for c in first] == [c.id for c in second] == [c.id for c in fetched]
        assert [s.created for s in discord_double.commands.syncs] == [["serial"], []]
        [global_serial] = await tree.sync()
        assert global_serial.id != first[0].id and global_serial.guild_id is None
        assert discord_double.commands.syncs[-1].guild_id is None


# rate limits, failures, permissions


@pytest.mark.discord_double(rate_limits=True, time_scale=0.1)
async def test_message_bucket_paces_a_burst_to_one_channel(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    started = time.monotonic()
    await asyncio.gather(*(channel.send(f"m{i}") for i in range(12)))
    elapsed = time.monotonic() - started
    window = limits.MESSAGE_CREATE_PERIOD_SECONDS * 0.1
    assert elapsed >= 2 * window  # 12 messages need three windows of five
    assert sorted(m.content for m in discord_double.messages(channel.id)) == sorted(
        f"m{i}" for i in range(12)
    )
    ok = discord_double.requests_to("POST", r"/messages$")
    assert ok[0].status == 200


@pytest.mark.discord_double(rate_limits=True, time_scale=0.1)
async def test_second_client_on_a_drained_bucket_absorbs_429s(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel_id = discord_double.channels["general"]
    async with connected_client(discord_double) as other:
        first = discord_client.get_channel(channel_id)
        # discord.py sleeps out an exhausted bucket before the last send returns: run it aside
        draining = asyncio.gather(
            *(first.send(f"a{i}") for i in range(limits.MESSAGE_CREATE_LIMIT))
        )
        await _until(
            lambda: len(discord_double.messages(channel_id)) == limits.MESSAGE_CREATE_LIMIT
        )
        # the second client has not seen this bucket's headers, so it learns by 429s
        second = other.get_channel(channel_id)
        await asyncio.gather(*(second.send(f"b{i}") for i in range(7)))
        await draining
    assert len(discord_double.messages(channel_id)) == limits.MESSAGE_CREATE_LIMIT + 7
    limited = [r for r in discord_double.requests if r.status == 429]
    assert limited and not any(r.is_global for r in limited)


@pytest.mark.discord_double(rate_limits=True)
async def test_global_429_storm_is_absorbed(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel_ids = await discord_double.populate(80)
    await _until(lambda: all(discord_client.get_channel(c) for c in channel_ids))
    await asyncio.gather(*(discord_client.get_channel(c).send("Part 1") for c in channel_ids))
    assert all(len(discord_double.messages(c)) == 1 for c in channel_ids)
    storm = [r for r in discord_double.requests if r.status == 429]
    assert storm and all(r.is_global for r in storm)
    summary = discord_double.summary()
    assert summary["duplicates"] == 0 and summary["channels_posted"] == 80
    assert summary["rate_limited_global"] == len(storm)


@pytest.mark.discord_double(rate_limits=True)
async def test_429_carries_discords_headers(discord_double: DiscordDouble) -> None:
    url = f"{discord_double.api_base}/channels/{discord_double.channels['general']}/messages"
    headers = {"Authorization": f"Bot {discord_double.token}"}
    async with aiohttp.ClientSession() as session:
        answers = [
            await session.post(url, json={"content": str(i)}, headers=headers)
            for i in range(limits.MESSAGE_CREATE_LIMIT + 1)
        ]
        ok, limited = answers[0], answers[-1]
        body = await limited.json()
    assert ok.headers["Content-Type"] == "application/json"
    assert ok.headers["X-RateLimit-Limit"] == str(limits.MESSAGE_CREATE_LIMIT)
    assert ok.headers["X-RateLimit-Remaining"] == str(limits.MESSAGE_CREATE_LIMIT - 1)
    assert float(ok.headers["X-RateLimit-Reset-After"]) == pytest.approx(
        limits.MESSAGE_CREATE_PERIOD_SECONDS, abs=0.1
    )
    assert {"X-RateLimit-Reset", "X-RateLimit-Bucket"} <= set(ok.headers)
    assert limited.status == 429 and limited.headers["Via"]
    assert (
        limited.headers["X-RateLimit-Scope"] == "user" and int(limited.headers["Retry-After"]) >= 1
    )
    assert (
        body["global"] is False and 0 < body["retry_after"] <= limits.MESSAGE_CREATE_PERIOD_SECONDS
    )
    assert discord_double.invalid_request_count() == 1


async def test_5xx_burst_is_retried_by_discord_py(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    rule = discord_double.fail_next("POST", r"^/channels/\d+/messages$", 2, status=500)
    sent = await channel.send("Part 5")
    assert rule.hits == 2 and [m.id for m in discord_double.messages(channel.id)] == [sent.id]
    statuses = [r.status for r in discord_double.requests_to("POST", r"/messages$")]
    assert statuses == [500, 500, 200]


async def test_503_raises_discord_server_error_at_once(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    discord_double.fail_next("POST", r"/messages$", 1, status=503, code=130000)
    with pytest.raises(discord.DiscordServerError) as caught:
        await channel.send("Part 6")
    assert caught.value.code == 130000
    assert len(discord_double.requests_to("POST", r"/messages$")) == 1
    assert discord_double.messages(channel.id) == []


async def test_missing_permissions_surface_as_forbidden(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel_id = discord_double.channels["general"]
    channel = discord_client.get_channel(channel_id)
    await discord_double.revoke(channel_id, "send_messages")
    await _until(lambda: not channel.permissions_for(channel.guild.me).send_messages)
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("Part 1")
    assert caught.value.code == ErrorCode.MISSING_PERMISSIONS
    await discord_double.revoke(channel_id, Permission.view_channel)
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("Part 1")
    assert caught.value.code == ErrorCode.MISSING_ACCESS
    await discord_double.grant(channel_id, "view_channel")
    await discord_double.grant(channel_id, "send_messages")
    await channel.send("Part 1")
    assert discord_double.invalid_request_count() == 2


async def test_embed_without_embed_links_is_forbidden(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    await discord_double.revoke(discord_double.guild_id, "embed_links")
    with pytest.raises(discord.Forbidden):
        await channel.send(embed=discord.Embed(description="text"))
    await channel.send("plain text still works")


async def test_deleted_channel_is_announced_then_unknown(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel_id = discord_double.channels["general"]
    channel = discord_client.get_channel(channel_id)
    deleted: asyncio.Future[discord.abc.GuildChannel] = asyncio.get_running_loop().create_future()
    discord_client.event(_resolver("on_guild_channel_delete", deleted))
    await discord_double.delete_channel(channel_id)
    assert (await asyncio.wait_for(deleted, 2)).id == channel_id
    with pytest.raises(discord.NotFound) as caught:
        await channel.send("Part 1")
    assert caught.value.code == ErrorCode.UNKNOWN_CHANNEL


async def test_removed_bot_gets_guild_remove_and_missing_access(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    removed: asyncio.Future[discord.Guild] = asyncio.get_running_loop().create_future()
    discord_client.event(_resolver("on_guild_remove", removed))
    await discord_double.remove_bot_from_guild(discord_double.guild_id)
    assert (await asyncio.wait_for(removed, 2)).id == discord_double.guild_id
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("Part 1")
    assert caught.value.code == ErrorCode.MISSING_ACCESS


async def test_paused_api_delays_answers(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    channel = discord_client.get_channel(discord_double.channels["general"])
    discord_double.pause_api(0.3)
    started = time.monotonic()
    await channel.send("after the outage")
    assert time.monotonic() - started >= 0.25


# gateway


async def test_dropped_gateway_resumes(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    resumed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    discord_client.event(_resolver("on_resumed", resumed))
    assert await discord_double.drop_gateway() == 1
    await asyncio.wait_for(resumed, 5)
    assert discord_double.gateway.resumes == 1 and discord_double.gateway.identifies == 1
    # events sent while the socket was down are not lost
    channel_id = await discord_double.add_channel("after-resume")
    await _until(lambda: discord_client.get_channel(channel_id) is not None)


async def test_invalidated_session_identifies_again(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    discord_client.event(_resolver("on_connect", connected))

    async def identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py's default hook waits 5 s before every identify but the first."""

    discord_client.before_identify_hook = identify_at_once  # type: ignore[method-assign]
    await discord_double.drop_gateway(resume=False)
    await asyncio.wait_for(connected, 5)
    assert discord_double.gateway.identifies == 2
    await discord_client.wait_until_ready()
    assert discord_client.get_guild(discord_double.guild_id) is not None


async def test_auto_sharded_client_reads_gateway_bot(discord_double: DiscordDouble) -> None:
    client = discord.AutoShardedClient(
        intents=_guild_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT
    )
    async with connected_client(discord_double, client):
        assert client.shard_count == 1
        assert client.get_guild(discord_double.guild_id) is not None
    assert discord_double.requests_to("GET", r"^/gateway/bot$")


# running outside the test process


_SUBPROCESS_CLIENT = """
import asyncio, os, sys
import discord
from tests.discord_double.launch import point_discord_py

point_discord_py(sys.argv[1], sys.argv[2])
intents = discord.Intents.none()
intents.guilds = True
client = discord.Client(intents=intents, guild_ready_timeout=0.05)

@client.event
async def on_ready():
    await client.get_channel(int(sys.argv[3])).send(f"up {os.getpid()}")

client.run(os.environ["DISCORD_TOKEN"], log_handler=None)
"""


async def test_killed_client_process_reconnects_to_the_same_double(
    discord_double: DiscordDouble,
) -> None:
    channel_id = discord_double.channels["general"]
    env = {**os.environ, "DISCORD_TOKEN": discord_double.token}
    args = [discord_double.api_base, str(discord_double.gateway_url), str(channel_id)]
    for run in (1, 2):
        identified = discord_double.gateway.identifies
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _SUBPROCESS_CLIENT, *args, cwd=ROOT, env=env
        )
        try:
            await discord_double.wait_until_connected(20, identified_after=identified)
            [*_, greeting] = await discord_double.wait_for_messages(channel_id, run, timeout=10)
            assert greeting.content == f"up {process.pid}"
        finally:
            process.kill()
            await process.wait()
    assert discord_double.gateway.identifies == 2


def test_launch_sets_discord_py_urls_before_the_cli() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.discord_double.launch",
            "--api",
            "http://127.0.0.1:9/api/v10",
            "--gateway",
            "ws://127.0.0.1:9/gateway/",
            "--",
            "--version",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("serialbot ")


async def test_standalone_double_serves_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.discord_double",
        "--channels",
        "3",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        info = json.loads(line)
        monkeypatch.setattr(discord.http.Route, "BASE", info["api_base"])
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(info["gateway_url"])
        )
        client = default_client()
        await client.login(info["token"])
        task = asyncio.create_task(client.connect())
        try:
            await asyncio.wait_for(client.wait_until_ready(), 10)
            assert len(client.guilds) == 2  # the default guild and one holding the 3 channels
            channel = client.get_channel(int(info["channels"]["general"]))
            await channel.send("hello")
        finally:
            await client.close()
            await asyncio.wait_for(task, 5)
        async with aiohttp.ClientSession() as session:
            summary = await (
                await session.get(info["api_base"].replace("/api/v10", "/_double/summary"))
            ).json()
        assert summary["posts"] == 1
    finally:
        process.terminate()
        await process.wait()


# helpers


def _resolver(name: str, future: asyncio.Future[Any]) -> Callable[..., Awaitable[None]]:
    async def handler(*args: object) -> None:
        if not future.done():
            future.set_result(args[0] if args else None)

    handler.__name__ = name
    return handler


async def _until(predicate: Callable[[], object], within: float = 2.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():
            await asyncio.sleep(0.01)

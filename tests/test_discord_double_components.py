"""The double's buttons and DMs, driven by plain discord.py (no project code): component payloads
are checked as Discord checks them, presses arrive as type 3 interactions answered with types 6
and 7, and DMs open a channel and fail with 50007 where Discord refuses them."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord.http import Route

from tests.discord_double import (
    CallbackType,
    DiscordDouble,
    ErrorCode,
    connected_client,
    limits,
)


def _button_row(custom_id: str, label: str = "Press") -> list[dict[str, Any]]:
    return [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": label, "custom_id": custom_id}]}
    ]


async def _send_raw(client: discord.Client, channel_id: int, payload: dict[str, Any]) -> Any:
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    return await client.http.request(route, json=payload)


class _Counter(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.pressed_by: list[int] = []

    @discord.ui.button(label="Count", custom_id="count")
    async def count(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.pressed_by.append(interaction.user.id)
        await interaction.response.defer()  # type 6: nothing shown, the message stays


class _Flip(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Flip", custom_id="flip")
    async def flip(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="Flipped", view=None)  # type 7


async def test_custom_id_over_100_characters_is_refused(discord_double: DiscordDouble) -> None:
    async with connected_client(discord_double) as client:
        general = discord_double.channels["general"]
        too_long = "x" * (limits.CUSTOM_ID_MAX + 1)
        with pytest.raises(discord.HTTPException) as refused:
            await _send_raw(client, general, {"content": "hi", "components": _button_row(too_long)})
        assert refused.value.code == ErrorCode.INVALID_FORM_BODY
        assert "custom_id" in refused.value.text
        fits = "x" * limits.CUSTOM_ID_MAX
        sent = await _send_raw(client, general, {"content": "hi", "components": _button_row(fits)})
        assert discord_double.message(int(sent["id"])).components[0]["components"][0][
            "custom_id"
        ] == (fits)


async def test_components_outside_action_rows_and_duplicate_ids_are_refused(
    discord_double: DiscordDouble,
) -> None:
    async with connected_client(discord_double) as client:
        general = discord_double.channels["general"]
        bare_button = [{"type": 2, "style": 1, "label": "x", "custom_id": "a"}]
        twice = [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 1, "label": "x", "custom_id": "same"},
                    {"type": 2, "style": 2, "label": "y", "custom_id": "same"},
                ],
            }
        ]
        six = [_button_row(f"b{i}")[0] for i in range(limits.ACTION_ROWS_MAX + 1)]
        for components in (bare_button, twice, six):
            with pytest.raises(discord.HTTPException) as refused:
                await _send_raw(client, general, {"content": "hi", "components": components})
            assert refused.value.code == ErrorCode.INVALID_FORM_BODY
        assert discord_double.bot_messages(general) == []


async def test_press_is_a_component_interaction_answered_by_deferring_the_update(
    discord_double: DiscordDouble,
) -> None:
    async with connected_client(discord_double) as client:
        view = _Counter()
        client.add_view(view)
        channel = client.get_channel(discord_double.channels["general"])
        sent = await channel.send("Press me", view=view)
        pressed = await discord_double.click(sent.id, "count", user_id=discord_double.admin_id)
        assert await pressed.response(timeout=2) is CallbackType.deferred_update_message
        assert pressed.payload["type"] == 3
        assert pressed.payload["message"]["id"] == str(sent.id)
        assert view.pressed_by == [discord_double.admin_id]
        assert discord_double.message(sent.id).content == "Press me"


async def test_press_answered_by_updating_the_message_edits_it(
    discord_double: DiscordDouble,
) -> None:
    async with connected_client(discord_double) as client:
        client.add_view(_Flip())
        channel = client.get_channel(discord_double.channels["general"])
        sent = await channel.send("Before", view=_Flip())
        pressed = await discord_double.click(sent.id, "flip")
        assert await pressed.response(timeout=2) is CallbackType.update_message
        assert discord_double.message(sent.id).content == "Flipped"
        assert discord_double.message(sent.id).components == []


async def test_only_shown_buttons_can_be_pressed_unless_forged(
    discord_double: DiscordDouble,
) -> None:
    async with connected_client(discord_double) as client:
        view = _Counter()
        client.add_view(view)
        channel = client.get_channel(discord_double.channels["general"])
        sent = await channel.send("Press me", view=view)
        with pytest.raises(ValueError, match="no component"):
            await discord_double.click(sent.id, "not-there")
        forged = await discord_double.click(sent.id, "not-there", forged=True)
        assert forged.payload["data"]["custom_id"] == "not-there"
        await discord_double.delete_message(sent.id)
        with pytest.raises(ValueError, match="gone"):
            await discord_double.click(sent.id, "count")
        with pytest.raises(discord.NotFound) as gone:
            await sent.edit(content="still there?")
        assert gone.value.code == ErrorCode.UNKNOWN_MESSAGE


async def test_dm_opens_a_channel_and_is_delivered(discord_double: DiscordDouble) -> None:
    async with connected_client(discord_double) as client:
        user = await client.fetch_user(discord_double.reader_id)
        await user.send("Part 2 is out")
        await user.send("Part 3 is out")
        assert [m.content for m in discord_double.dms(discord_double.reader_id)] == [
            "Part 2 is out",
            "Part 3 is out",
        ]
        opened = discord_double.requests_to("POST", r"^/users/@me/channels$")
        assert opened and all(r.status == 200 for r in opened)


async def test_dm_to_a_member_who_does_not_accept_them_is_50007(
    discord_double: DiscordDouble,
) -> None:
    async with connected_client(discord_double) as client:
        discord_double.close_dms(discord_double.reader_id)
        user = await client.fetch_user(discord_double.reader_id)
        with pytest.raises(discord.Forbidden) as refused:
            await user.send("Part 2 is out")
        assert refused.value.code == ErrorCode.CANNOT_SEND_TO_USER
        assert discord_double.dms(discord_double.reader_id) == []
        # Discord counts the 403 towards the invalid-request ban
        assert discord_double.invalid_request_count() >= 1


async def test_dm_to_someone_who_left_every_shared_server_is_50007(
    discord_double: DiscordDouble,
) -> None:
    async with connected_client(discord_double) as client:
        await discord_double.remove_member(discord_double.reader_id)
        user = await client.fetch_user(discord_double.reader_id)
        with pytest.raises(discord.Forbidden) as refused:
            await user.send("Part 2 is out")
        assert refused.value.code == ErrorCode.CANNOT_SEND_TO_USER
        guild = client.get_guild(discord_double.guild_id)
        with pytest.raises(discord.NotFound) as unknown:
            await guild.fetch_member(discord_double.reader_id)
        assert unknown.value.code == ErrorCode.UNKNOWN_MEMBER

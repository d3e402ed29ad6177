import base64
from urllib.parse import parse_qs, urlparse

import discord
import pytest

from bot.cli import main as cli_main
from bot.frontend.invite import client_id_from_token

BOT_ID = 1234567890123456789


def _token(user_id: int) -> str:
    first = base64.b64encode(str(user_id).encode()).decode().rstrip("=")
    return f"{first}.GhIjKl.secret-part-of-the-token"


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def test_client_id_is_read_from_the_token_first_segment() -> None:
    assert client_id_from_token(_token(BOT_ID)) == BOT_ID


@pytest.mark.parametrize("token", ["", "not-base64!!.x.y", base64.b64encode(b"abc").decode()])
def test_a_token_without_a_numeric_id_gives_none(token: str) -> None:
    assert client_id_from_token(token) is None


def test_invite_url_asks_for_both_scopes_and_exactly_the_needed_permissions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", _token(BOT_ID))
    assert cli_main(["invite-url"]) == 0
    out = capsys.readouterr().out.strip()
    query = _query(out)
    assert query["client_id"] == [str(BOT_ID)]
    assert query["scope"][0].split() == ["bot", "applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == discord.Permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        read_message_history=True,
        create_public_threads=True,
        send_messages_in_threads=True,
    )
    assert not (granted.administrator or granted.mention_everyone or granted.manage_messages)


def test_invite_url_never_prints_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _token(BOT_ID)
    monkeypatch.setenv("DISCORD_TOKEN", token)
    cli_main(["invite-url"])
    captured = capsys.readouterr()
    assert "secret-part-of-the-token" not in captured.out + captured.err
    assert token.split(".")[0] not in captured.out + captured.err


def test_client_id_option_wins_over_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", _token(BOT_ID))
    assert cli_main(["invite-url", "--client-id", "42"]) == 0
    assert _query(capsys.readouterr().out)["client_id"] == ["42"]


def test_missing_token_and_client_id_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert cli_main(["invite-url"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "--client-id" in captured.err

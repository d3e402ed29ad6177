"""Which links a file may be fetched from: Discord's attachment hosts over https, plus the
origins the operator configured, compared as scheme, host and port."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.limits import ATTACHMENT_HOSTS
from bot.origins import FileSources, OriginError, parse_origin

SIGNED = "/attachments/1/2/tale.txt?ex=6a&is=69&hm=abc&"


@pytest.mark.parametrize("host", ATTACHMENT_HOSTS)
def test_discords_hosts_are_allowed_over_https_only(host: str) -> None:
    sources = FileSources()
    assert sources.allows(f"https://{host}{SIGNED}")
    assert sources.allows(f"https://{host.upper()}:443{SIGNED}")
    assert not sources.allows(f"http://{host}{SIGNED}")
    assert not sources.allows(f"https://{host}:8443{SIGNED}")


@pytest.mark.parametrize(
    "url",
    [
        f"https://cdn.discordapp.com.evil.example{SIGNED}",
        f"https://evil.example/cdn.discordapp.com{SIGNED}",
        f"https://cdn.discordapp.com@evil.example{SIGNED}",
        f"https://user:pw@cdn.discordapp.com{SIGNED}",
        f"https://discordapp.com{SIGNED}",
        f"https://127.0.0.1{SIGNED}",
        f"ftp://cdn.discordapp.com{SIGNED}",
        f"file:///etc/passwd{SIGNED}",
        "https://cdn.discordapp.com:99999/x",
        "not a url",
        "",
    ],
)
def test_anything_else_is_not(url: str) -> None:
    assert not FileSources().allows(url)


def test_a_configured_origin_is_allowed_by_scheme_host_and_port() -> None:
    sources = FileSources((parse_origin("http://127.0.0.1:8123"),))
    assert sources.allows(f"http://127.0.0.1:8123{SIGNED}")
    assert not sources.allows(f"http://127.0.0.1:8124{SIGNED}")
    assert not sources.allows(f"http://localhost:8123{SIGNED}")
    assert not sources.allows(f"https://127.0.0.1:8123{SIGNED}")
    assert sources.allows(f"https://cdn.discordapp.com{SIGNED}")


def test_origins_are_made_canonical() -> None:
    assert parse_origin("https://Files.Example.net/") == "https://files.example.net:443"
    assert parse_origin(" http://localhost:80 ") == "http://localhost:80"
    assert parse_origin("http://[::1]:9000") == "http://[::1]:9000"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("files.example.net", "not an origin"),
        ("ftp://files.example.net", "not an origin"),
        ("http://files.example.net", "plain http"),
        ("https://files.example.net/stories", "path or query"),
        ("https://files.example.net?x=1", "path or query"),
        ("https://me:secret@files.example.net", "user name or password"),
        ("https://files.example.net:0x50", "not an origin"),
    ],
)
def test_a_bad_origin_says_why(given: str, reason: str) -> None:
    with pytest.raises(OriginError, match=reason):
        parse_origin(given)


def test_the_configuration_names_file_key_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "serialbot.yaml"
    path.write_text(
        "uploads:\n  extra_attachment_origins: [https://files.example.net, http://10.0.0.5]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: uploads.extra_attachment_origins: ")
    assert "http://10.0.0.5" in problem and "plain http" in problem
    path.write_text("uploads:\n  extra_attachment_origins: 8080\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a list of origins"):
        load_config(path)


def test_the_configuration_keeps_the_origins_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "serialbot.yaml"
    path.write_text(
        "uploads:\n  extra_attachment_origins: ['https://files.example.net']\n", encoding="utf-8"
    )
    config = load_config(path)
    assert config.uploads.extra_attachment_origins == ("https://files.example.net:443",)
    assert load_config(None).uploads.extra_attachment_origins == ()

"""Where the bot may fetch a file from: Discord's own attachment hosts over https, and the origins
an operator adds in the configuration (``uploads.extra_attachment_origins``), such as a local
stand-in for Discord on this machine. An origin is a scheme, a host and a port, as browsers
compare them; a URL is allowed when its origin is."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.limits import ATTACHMENT_HOSTS

__all__ = ["LOOPBACK_HOSTS", "FileSources", "OriginError", "origin_of", "parse_origin"]

# Plain http is accepted for these only: nothing between the bot and a server on this machine.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_DEFAULT_PORTS = {"https": 443, "http": 80}
_EXAMPLE = "https://files.example.net"


class OriginError(ValueError):
    """Why a configured origin cannot be used, said for the operator."""


def parse_origin(text: str) -> str:
    """An origin as the configuration names one, made canonical (``https://host:443``)."""
    given = text.strip()
    try:
        parts = urlsplit(given)
        port = parts.port
    except ValueError:
        raise OriginError(f"{given!r} is not an origin such as {_EXAMPLE}") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise OriginError(
            f"{given!r} is not an origin such as {_EXAMPLE} (https://, a host, and a port "
            "if not 443)"
        )
    if parts.username is not None or parts.password is not None:
        raise OriginError(f"{given!r} holds a user name or password; give the host only")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise OriginError(
            f"{given!r} has a path or query; give the scheme, host and port only, "
            f"such as {_EXAMPLE}"
        )
    host = parts.hostname.lower()
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise OriginError(
            f"{given!r} uses plain http; files from another machine are fetched over https "
            "only (http is accepted for 127.0.0.1, ::1 and localhost)"
        )
    return _canonical(parts.scheme, host, port)


def origin_of(url: str) -> str | None:
    """The canonical origin of ``url``; None when it is no http(s) URL or carries a user
    name or password."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return _canonical(parts.scheme, parts.hostname.lower(), port)


def _canonical(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port or _DEFAULT_PORTS[scheme]}"


_DISCORD = frozenset(_canonical("https", host, None) for host in ATTACHMENT_HOSTS)


@dataclass(frozen=True, slots=True)
class FileSources:
    """The origins files may come from: Discord's hosts, plus ``extra`` (canonical origins)."""

    extra: tuple[str, ...] = ()

    def allows(self, url: str) -> bool:
        origin = origin_of(url)
        return origin is not None and (origin in _DISCORD or origin in self.extra)

"""A PostgreSQL database named by URL (``postgresql://user@host:port/database``): telling one
from a SQLite file's path, finding what is wrong with a mistyped one, and writing it in messages
without its password.

A URL may hold a password (in ``SERIALBOT_DATABASE``, or on the command line of ``serialbot
migrate``), and every message about the database ends up in a log or a terminal: whatever is
said about a URL goes through ``redact`` first, even when the URL is too broken to parse.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = [
    "POSTGRESQL_SCHEMES",
    "is_postgresql_url",
    "looks_like_url",
    "redact",
    "url_has_password",
    "url_problem",
]

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")
HIDDEN = "***"
# "scheme:/..." with a scheme of two letters or more (a Windows drive, "C:/", is one letter).
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]+")
_SHAPE = "postgresql://user@host:port/database"


def is_postgresql_url(text: str) -> bool:
    return text.strip().lower().startswith(POSTGRESQL_SCHEMES)


def looks_like_url(text: str) -> bool:
    """Meant as a URL rather than a file path, even if mistyped (``postgressql://…``,
    ``postgresql//…``, ``sqlite:///…``)."""
    text = text.strip()
    if _SCHEME.match(text):
        return True
    return text.lower().startswith("postgres") and ("@" in text or "//" in text)


def url_has_password(url: str) -> bool:
    """A password in the URL's user part or in a ``password=`` parameter."""
    return redact(url) != url


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``: the user part's (found even when the
    password holds characters it should have percent-encoded, such as ``/`` or ``@``) and a
    ``password=`` parameter's."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    query_at = rest.find("?")
    head, tail = (rest, "") if query_at < 0 else (rest[:query_at], rest[query_at:])
    at = head.rfind("@")
    if at < 0 and "@" in tail:
        # An unencoded "?" in the password: the user part runs to the last "@".
        head, tail = rest, ""
        at = head.rfind("@")
    if at >= 0:
        user, colon, password = head[:at].partition(":")
        if colon and password:
            head = f"{user}:{HIDDEN}{head[at:]}"
    tail = _QUERY_PASSWORD.sub(rf"\1{HIDDEN}", tail)
    return f"{scheme}{separator}{head}{tail}"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot name a PostgreSQL database, or None. Never repeats the password."""
    shown = redact(url.strip())
    if not is_postgresql_url(url):
        return (
            f"{shown!r} is neither a SQLite file's path nor a PostgreSQL URL: write a "
            f"PostgreSQL database as {_SHAPE} (the scheme is postgresql://)"
        )
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError unless a number from 0 to 65535
    except ValueError:
        parts, port = None, None
    # An "@" after the host: a user name or password holding an unencoded "/", "?" or "#".
    if parts is None or port == 0 or "@" in parts.path + parts.query + parts.fragment:
        return (
            f"{shown!r} is not a PostgreSQL URL that can be read: write it as {_SHAPE}, the "
            "port a number from 1 to 65535; in a user name or password, write / : @ ? # and % "
            "as %2F %3A %40 %3F %23 and %25"
        )
    return None

"""Reading a file's bytes within a size limit, and decoding text whose encoding is not declared.

UTF-8 is tried first. Otherwise ``charset-normalizer`` ranks the encodings that decode the bytes
into plausible text; the file is read only when that ranking, the file's own declaration and the
decoded text agree (see ``decode``), and refused otherwise, naming the likely encoding.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.story import StoryError

# How sure the detector must be that the text is text: its "chaos" is the share of odd characters.
_MAX_CHAOS = 0.05
# Encodings of Western European text: when these tie, the Windows code page is the one files
# saved on Windows (and most older Gutenberg copies) use; it is Latin-1 plus printable quotes.
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
_WESTERN_LANGUAGES = frozenset(
    [
        "English",
        "Spanish",
        "French",
        "German",
        "Italian",
        "Portuguese",
        "Dutch",
        "Danish",
        "Swedish",
        "Norwegian",
        "Finnish",
        "Catalan",
        "Latin",
        "Icelandic",
        "Irish",
        "Welsh",
        "Unknown",
    ]
)
_DECLARED = re.compile(
    rb"(?:character set encoding|charset|encoding)\s*[:=]\s*[\"']?([A-Za-z0-9_.:-]+)",
    re.IGNORECASE,
)
_NAMES = {
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250",
    "cp1251": "Windows-1251",
    "latin_1": "Latin-1",
    "iso8859_15": "Latin-9",
    "utf_8": "UTF-8",
}


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; StoryError when it cannot be read or is over ``max_bytes``, which is
    checked before reading and again while reading (the file may grow)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise StoryError(path, too_big(size, max_bytes))
        with path.open("rb") as handle:
            data = handle.read(size + 1)
            if len(data) > size:
                chunks = [data]
                total = len(data)
                while total <= max_bytes:
                    chunk = handle.read(min(1 << 20, max_bytes + 1 - total))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    total += len(chunk)
                data = b"".join(chunks)
    except OSError as error:
        raise StoryError(path, f"cannot read the file ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise StoryError(path, too_big(len(data), max_bytes))
    return data


def decode(path: Path, data: bytes) -> tuple[str, str]:
    """(text without a byte-order mark, the encoding's name as people know it)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise StoryError(path, "UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise StoryError(path, "binary data (contains NUL bytes), not a text file")
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), "UTF-8"
    except UnicodeDecodeError as error:
        failure = error
    encoding, doubt = _detect(data)
    if encoding is not None and doubt is None:
        return data.decode(encoding).removeprefix("\ufeff"), _NAMES.get(encoding, encoding)
    bad = data[failure.start]
    where = f"not UTF-8 text (byte 0x{bad:02x} at offset {failure.start})"
    hint = f"; {doubt}" if doubt else ""
    raise StoryError(path, f"{where}{hint}; save it as UTF-8")


def _detect(data: bytes) -> tuple[str | None, str | None]:
    """(encoding to use, None) when sure; (None, why not) otherwise."""
    # Imported here: it takes memory, and most files are UTF-8.
    import charset_normalizer

    results = [r for r in charset_normalizer.from_bytes(data) if r.encoding != "utf_8"]
    if not results:
        return None, "its encoding cannot be told"
    best = results[0]
    likely = _NAMES.get(best.encoding, best.encoding)
    if best.percent_chaos > _MAX_CHAOS * 100:
        return None, f"it looks like {likely}, but not clearly enough to read it"
    tied = [r.encoding for r in results if r.percent_chaos <= best.percent_chaos]
    declared = _declared(data)
    if declared is not None and declared in tied:
        return declared, None
    texts = {data.decode(e, errors="replace") for e in tied}
    if len(texts) == 1:
        # They all read it the same: name the most common encoding that reads it so too.
        (text,) = texts
        for western in _WESTERN:
            if data.decode(western, errors="replace") == text:
                return western, None
        return tied[0], None
    if best.language in _WESTERN_LANGUAGES:
        for western in _WESTERN:
            if western in tied and _printable(data.decode(western)):
                return western, None
    names = " or ".join(_NAMES.get(e, e) for e in tied[:3])
    return None, f"it could be {names}, which read differently"


def _declared(data: bytes) -> str | None:
    match = _DECLARED.search(data[:4096])
    if match is None:
        return None
    name = match.group(1).decode("ascii").lower().replace("-", "_")
    aliases = {"windows_1252": "cp1252", "iso_8859_1": "latin_1", "latin1": "latin_1"}
    return aliases.get(name, name)


def _printable(text: str) -> bool:
    # C1 control characters are never text: a "Latin-1" reading that yields them is wrong.
    return not any("\x80" <= ch <= "\x9f" for ch in text)


def too_big(size: int, limit: int) -> str:
    return f"file is {size:,} bytes ({_size(size)}), over the {_size(limit)} limit"


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            whole, rest = divmod(count, scale)
            return f"{whole} {unit}" if not rest else f"{count / scale:.1f} {unit}"
    return f"{count} bytes"

"""HTML white space as a block's text keeps it: runs are one space, a ``<br>`` one line break,
blank lines none."""

from __future__ import annotations


def spaces(data: str) -> str:
    """A piece of text between tags with its white space as HTML shows it."""
    # What is kept as a line break is only <br>.
    return (
        " ".join(data.split()).join(
            (" " if data[:1].isspace() else "", " " if data[-1:].isspace() else "")
        )
        if data.strip()
        else (" " if data else "")
    )


def normalised(raw: str) -> str:
    """A block's text, its pieces joined, as it is kept."""
    lines = [" ".join(line.split()) for line in raw.split("\n")]
    text = "\n".join(lines).strip("\n ")
    while "\n\n" in text:
        text = text.replace("\n\n", "\n")
    return text

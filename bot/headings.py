"""What a heading looks like in plain text, and the contents list and title page that open many
books. Used by ``bot.structure``; every test here looks at one short block of text."""

from __future__ import annotations

import re

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred"
)
_ORDINALS = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|last|final"
    "|primero|primera|segundo|segunda|tercero|tercera|premier|première"
)
_NUMBER = (
    rf"(?:\d+|[ivxlcdm]+|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*"
    rf"|(?:the\s+)?(?:{_ORDINALS}))"
)
_TAIL = r"(?:\s*[.:\-—–]\s*.*|\s+[^\sa-z].*)?"
# A numbered heading may go on with a title after a separator, or after a space when the title
# starts with a capital or digit; "Part of me..." and "Part I think..." are not headings.
CHAPTER = re.compile(
    rf"(?i:chapter|chap\.|stave|canto|letter|capítulo|capitulo|chapitre|kapitel)\s+(?i:{_NUMBER})"
    + _TAIL
    + r"|(?i:prologue|epilogue|interlude|preface|foreword|afterword|prólogo|introduction)"
    r"(?:\s*[.:\-—–]\s*.*)?"
    r"|[IVXLCDM]+\.?"  # a roman numeral alone on its line
    r"|#{1,6}\s+\S.*"
)
MAJOR = re.compile(
    rf"(?i:part|book|volume|act)\s+(?i:{_NUMBER})"
    + _TAIL
    # The 1605 Quijote is in four parts, each headed "Primera (Segunda...) parte del ...".
    + r"|(?i:primera|segunda|tercera|cuarta|quinta) parte\b.*"
)
_SECTION_WORDS = re.compile(
    r"\b(?:letter|telegram|memorandum|diary|journal|cutting|report|statement|narrative|log|"
    r"account|note)\b",
    re.IGNORECASE,
)
_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
# A diary entry or a letter opens with its date: "_3 May. Bistritz._--", "May 4th, 1897."
DATE_LINE = re.compile(
    rf"_?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?i:{_MONTHS})\b|(?i:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b)"
)
# What a ``DATE_LINE`` can open with, of ASCII: a digit, an underscore or a month's initial in
# either case. Outside ASCII, case folding and other digits could still match.
DATE_OPENERS = frozenset("_0123456789JFMASONDjfmasond")


CONTENTS = re.compile(
    r"(?:table of )?contents\.?|list of illustrations\.?|illustrations\.?|índice\.?|"
    r"indice\.?|table des matières\.?|inhalt\.?",
    re.IGNORECASE,
)
BYLINE = re.compile(r"_?(?i:by|por|par|von)_?(?:\s+(\w[^\n!?;:]{0,60}[^\W_]_?))?")
ILLUSTRATION = re.compile(r"\[(?:Illustration|Image|Picture)\b[^\]]*\]?", re.IGNORECASE)
TRANSCRIBER = re.compile(r"\[?\s*Transcriber[’']?s? notes?\b", re.IGNORECASE)
THE_END = re.compile(r"_?(?:the end|finis|fin|end)[._]*", re.IGNORECASE)
_PUBLISHING = re.compile(
    r"copyright|all rights reserved|publishers?\b|printed in|\bpress\b|\bedition\b",
    re.IGNORECASE,
)
HEADING_MAX_CHARS = 100
ORNAMENTS = frozenset("*#~-_=+•·◦∙○●◇◆◊♦❖⁂❦§†‡%^°—–<>")
MIXED_O_MARKER = re.compile(r"[-~=*. ]*(?:[oO0]{3,}|[xX]{3,})[-~=*. ]*")
# What a marker line opens with (after its spaces), in either form.
_MARKER_OPENERS = ORNAMENTS | frozenset("-~=*.oO0xX")
UNDERLINE = re.compile(r"=+|-+")
DIALOGUE_OPENERS = frozenset("\"“”„«»‹›「『'‘’—―")
TITLE_MAX_CHARS = 80
TITLE_MAX_WORDS = 12
MULTI_LINEHEADING_MAX_CHARS = 3 * TITLE_MAX_CHARS + 2
FINAL_PUNCTUATION = frozenset(".,;:!?…\"'”’)»")

_SENTENCE_END = frozenset('.!?…"”’»')
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Words only, lowercase: how a contents entry and its heading in the body are compared."""
    return " ".join(_WORD.findall(text.casefold())).replace("_", "")


def section_heading(block: str) -> bool:
    """A short italic line naming a document or entry: "_Letter, Mina Murray to Lucy._"."""
    return (
        block.startswith("_")
        and block.rstrip(".").endswith("_")
        and len(block) <= 200
        and block.count("\n") <= 2
        and (
            _SECTION_WORDS.search(block.replace("_", " ")) is not None
            or DATE_LINE.match(block) is not None
        )
    )


def entry_like(block: str, *, in_contents: bool) -> bool:
    """Could this block be (a run of) contents entries rather than prose?"""
    lines = block.split("\n")
    if in_contents:
        return all(len(line) <= 100 and len(line.split()) <= 16 for line in lines) and not (
            len(lines) >= 2
            and block[-1] in _SENTENCE_END
            and sum(1 for line in lines[1:] if line.lstrip()[:1].islower()) > len(lines) // 3
        )
    return len(lines) <= 4 and len(block) <= 400 and block[-1] not in _SENTENCE_END


def centred(block: str) -> bool:
    return all(line.startswith("      ") for line in block.split("\n"))


def title_page_like(block: str, position: int, *, before_byline: bool) -> bool:
    """A block that can belong to a title page: centred, a byline, an illustration, a
    publisher's line, or (between the title and the byline) a short unpunctuated line."""
    lines = block.split("\n")
    if centred(block) and len(lines) <= 6:
        return True
    stripped = block.strip()
    if BYLINE.fullmatch(stripped) or ILLUSTRATION.fullmatch(stripped):
        return True
    if len(stripped) <= 200 and _PUBLISHING.search(stripped):
        return True
    return (
        before_byline
        and position < 6
        and len(lines) <= 5
        and all(len(line.strip()) <= 50 for line in lines)
        and stripped[-1] not in _SENTENCE_END
        and CHAPTER.fullmatch(stripped) is None
        and MAJOR.fullmatch(stripped) is None
    )


def byline_author(block: str) -> str | None:
    """The author a byline names, from "by X" or "X" under a lone "by"."""
    match = BYLINE.fullmatch(block.strip())
    if match is None or not match.group(1):
        return None
    return " ".join(match.group(1).split())


def fold_title(line: str) -> str:
    return " ".join(line.lstrip("#").split()).rstrip(".").casefold()


def is_marker(line: str) -> bool:
    core = line.replace(" ", "")
    if not core or len(core) > 40 or core[0] not in _MARKER_OPENERS:
        return False
    if all(ch in ORNAMENTS for ch in core):
        return True
    if MIXED_O_MARKER.fullmatch(line):
        letters = [ch for ch in core if ch.isalnum()]
        return any(ch.isupper() for ch in letters) and any(
            ch.islower() or ch.isdigit() for ch in letters
        )
    return False


def ends_with_punctuation(line: str) -> bool:
    return line[-1] in FINAL_PUNCTUATION


def heading_kind(line: str) -> str | None:
    if CHAPTER.fullmatch(line):
        return "chapter"
    if MAJOR.fullmatch(line):
        return "major"
    return None

"""HTML to blocks of text, with the standard library's ``html.parser``.

A real, forgiving HTML parser (the one Beautiful Soup uses by default) read as a stream: nothing
is built but the blocks, so memory follows the text, not the markup. Styles, forms, media and the
like are dropped with their content. A page with active or embedded content (a script, an event
handler, a ``javascript:`` link, a frame, an object or embed) or with tags nested deeper than any
real page nests them is refused (``Refused``): such a page is not a story as its author wrote it,
and reading it without those parts would hide that. Each block remembers the few ids and classes
around it that loaders care about (an Archive of Our Own download marks its preface, chapters
and notes that way).

The package's modules, by job: ``_reader`` (the page read into blocks), ``_elements`` (what each
element is: dropped, a block, empty, a mark), ``_emphasis`` (italics and bold as runs of a
block's text), ``_whitespace`` (HTML white space as the text keeps it) and ``_refusal`` (the
pages that are not read).
"""

from bot.loaders.markup._elements import MARKS
from bot.loaders.markup._emphasis import BOLD, ITALIC, Span
from bot.loaders.markup._reader import Chunk, read_html
from bot.loaders.markup._refusal import MAX_NESTING, Refused

__all__ = ["BOLD", "ITALIC", "MARKS", "MAX_NESTING", "Chunk", "Refused", "Span", "read_html"]

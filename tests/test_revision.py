"""Aligning two versions of a story: a channel's reading point moves to the counterpart of the
last word it received, so that after an edit it gets exactly the new text after that word.

The property tests build stories of distinct words, so which old word each new word is (or that
it is new) is known by construction. The reference then finds the place by brute force over
every cut of the new text: all surviving words the channel received before it, all surviving
words it did not receive after it; where new words stand between the two, they replaced
received text (not posted again) only when every old word they stand in for had been received.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.library import make_serial, story_from_text
from bot.recut import carried, channel_serial
from bot.revision import Change, align

# --- building stories and edits ---------------------------------------------------------------


class _Fresh:
    def __init__(self) -> None:
        self.count = 0

    def words(self, n: int) -> list[str]:
        self.count += n
        return [f"new{self.count - n + i}" for i in range(n)]


def _text(paragraphs: list[list[str]]) -> str:
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def _story(sizes: list[int]) -> list[list[str]]:
    paragraphs, n = [], 0
    for size in sizes:
        paragraphs.append([f"w{n + i}" for i in range(size)])
        n += size
    return paragraphs


@dataclass
class Edit:
    kind: str
    where: int
    at: int
    size: int


EDIT_KINDS = (
    "insert_paragraph",
    "delete_paragraph",
    "replace_paragraph",
    "insert_words",
    "delete_words",
    "replace_words",
    "split_paragraph",
    "join_paragraphs",
)

edits = st.builds(
    Edit,
    kind=st.sampled_from(EDIT_KINDS),
    where=st.integers(0, 20),
    at=st.integers(0, 8),
    size=st.integers(1, 5),
)


def _apply(paragraphs: list[list[str]], edit: Edit, fresh: _Fresh) -> None:
    if not paragraphs:
        paragraphs.append(fresh.words(edit.size))
        return
    p = edit.where % len(paragraphs)
    para = paragraphs[p]
    at = edit.at % (len(para) + 1)
    if edit.kind == "insert_paragraph":
        paragraphs.insert(edit.where % (len(paragraphs) + 1), fresh.words(edit.size))
    elif edit.kind == "delete_paragraph":
        del paragraphs[p]
    elif edit.kind == "replace_paragraph":
        paragraphs[p] = fresh.words(edit.size)
    elif edit.kind == "insert_words":
        para[at:at] = fresh.words(edit.size)
    elif edit.kind == "delete_words":
        del para[at : at + edit.size]
    elif edit.kind == "replace_words":
        para[at : at + edit.size] = fresh.words(edit.size)
    elif edit.kind == "split_paragraph":
        paragraphs[p : p + 1] = [para[:at], para[at:]]
    elif edit.kind == "join_paragraphs" and p + 1 < len(paragraphs):
        paragraphs[p : p + 2] = [para + paragraphs[p + 1]]
    paragraphs[:] = [q for q in paragraphs if q]


def _reference(old: list[str], new: list[str], read: int, ignore: frozenset[str]) -> int:
    """The new word index where reading continues, by brute force over every cut."""
    index = {w: i for i, w in enumerate(old)}
    received = {w for w in old[:read] if w not in ignore}
    kept = set(new) - ignore
    valid = [
        s
        for s in range(len(new) + 1)
        if not any(w in received for w in new[s:])
        and not any(w in index and w not in received and w not in ignore for w in new[:s])
    ]
    assert valid, "the edits of these tests keep the order of the words they keep"
    first, last = valid[0], valid[-1]
    if first == last:
        return first
    # New words fill new[first:last]: which old words did they take the place of?
    survivors = [i for i, w in enumerate(old) if w in kept]
    before = max((i for i in survivors if i < read), default=-1)
    after = min((i for i in survivors if i >= read), default=len(old))
    replaced = range(before + 1, after)
    if replaced and all(i < read for i in replaced):
        return last
    return first


def _words(text: str) -> list[str]:
    return text.split()


def _continuation(old_text: str, new_text: str, read: int) -> int:
    """The word index in the new text where the aligned reading point falls."""
    alignment = align(old_text, new_text)
    starts = alignment.old_starts
    position = starts[read] if read < len(starts) else len(old_text)
    new_position = alignment.position(position)
    new_starts = alignment.new_starts
    return sum(1 for s in new_starts if s < new_position)


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=8),
    changes=st.lists(edits, min_size=1, max_size=4),
    read_share=st.floats(0, 1),
)
def test_reading_continues_after_the_counterpart_of_the_last_word_received(
    sizes: list[int], changes: list[Edit], read_share: float
) -> None:
    paragraphs = _story(sizes)
    old_text = _text(paragraphs)
    old = _words(old_text)
    read = round(read_share * len(old))
    fresh = _Fresh()
    edited = [list(p) for p in paragraphs]
    for change in changes:
        _apply(edited, change, fresh)
    new_text = _text(edited)
    new = _words(new_text)

    at = _continuation(old_text, new_text, read)

    assert at == _reference(old, new, read, frozenset())
    posted_after = new[at:]
    received = set(old[:read])
    assert not received & set(posted_after), "a received word would be posted again"
    skipped = [w for w in new[:at] if w in set(old[read:])]
    assert not skipped, "an unreceived word would never be posted"


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=4, max_size=9),
    source=st.integers(0, 20),
    distance=st.integers(2, 5),
    forward=st.booleans(),
    changes=st.lists(edits, max_size=2),
    touched=st.lists(st.integers(0, 5), max_size=3),
    read_share=st.floats(0, 1),
)
def test_a_moved_paragraph_leaves_every_other_word_in_place(
    sizes: list[int],
    source: int,
    distance: int,
    forward: bool,
    changes: list[Edit],
    touched: list[int],
    read_share: float,
) -> None:
    paragraphs = _story(sizes)
    count = len(paragraphs)
    distance = min(distance, count - 1)
    source %= count - distance
    target = source + distance
    if not forward:
        source, target = target, source
    low, high = min(source, target), max(source, target)
    jumped = [w for p in range(low + 1, high + 1) for w in paragraphs[p]] if forward else []
    if not forward:
        jumped = [w for p in range(low, high) for w in paragraphs[p]]
    moved = paragraphs[source]
    # The unchanged run the paragraph jumps over is longer than the paragraph, so the paragraph
    # is the one that moved (with a longer paragraph, the run it jumped is what moved).
    if len(jumped) <= len(moved):
        paragraphs[source] = moved = moved[: max(1, len(jumped) - 1)]
    old_text = _text(paragraphs)
    old = _words(old_text)
    read = round(read_share * len(old))
    fresh = _Fresh()
    # Other edits, away from the moved paragraph and the paragraphs it jumps over.
    outside_before = [list(p) for p in paragraphs[: max(0, low - 1)]]
    outside_after = [list(p) for p in paragraphs[high + 2 :]]
    for change in changes:
        _apply(outside_before if change.at % 2 else outside_after, change, fresh)
    middle = [list(p) for p in paragraphs[max(0, low - 1) : high + 2]]
    m_source, m_target = source - max(0, low - 1), target - max(0, low - 1)
    paragraph = middle.pop(m_source)
    middle.insert(m_target, paragraph)
    # One word rewritten in some of the paragraphs jumped over: the run they form is broken,
    # but a longer unchanged run than the moved paragraph must remain for it to be the mover.
    jumped_at = [i for i, p in enumerate(middle) if p and p[0] in set(jumped)]
    for n, word in enumerate(touched[: len(jumped_at)]):
        p = middle[jumped_at[n]]
        p[word % len(p)] = fresh.words(1)[0]
    runs, run = [0], 0
    for p in middle:
        for w in p:
            run = run + 1 if w in set(jumped) else 0
            runs.append(run)
    assume(max(runs) > len(moved))
    new_text = _text(outside_before + middle + outside_after)
    new = _words(new_text)

    at = _continuation(old_text, new_text, read)

    assert at == _reference(old, new, read, frozenset(moved))
    change = align(old_text, new_text).change(
        align(old_text, new_text).old_starts[read] if read < len(old) else len(old_text)
    )
    moved_unread = old.index(moved[0]) >= read and new.index(moved[0]) < at
    assert change.moved_unread == (1 if moved_unread else 0)


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=10),
    changes=st.lists(edits, min_size=1, max_size=4),
    received_share=st.floats(0, 1),
    words_per_part=st.integers(4, 12),
)
def test_a_channel_gets_exactly_the_new_text_after_its_place_in_parts_numbered_on(
    sizes: list[int], changes: list[Edit], received_share: float, words_per_part: int
) -> None:
    paragraphs = [
        [f"{w}." if i == len(p) - 1 else w for i, w in enumerate(p)] for p in _story(sizes)
    ]
    old = make_serial(story_from_text(_text(paragraphs), fields={"title": "T"}), words_per_part)
    received = round(received_share * len(old.parts))
    position = old.part(received + 1).start if received < len(old.parts) else len(old.story.text)
    fresh = _Fresh()
    edited = [list(p) for p in paragraphs]
    for change in changes:
        _apply(edited, change, fresh)
    assume(edited)  # a file with no text left is refused by the library, not followed
    new = make_serial(story_from_text(_text(edited), fields={"title": "T"}), words_per_part)

    alignment = align(old.story.text, new.story.text)
    place = alignment.position(position)
    starts = [alignment.position(p.start) for p in old.parts[:received]]
    view = channel_serial(new, carried(starts, place, received), words_per_part, 0.35)

    assert [p.index for p in view.parts] == list(range(1, len(view.parts) + 1))
    assert len(view.parts) >= received
    after = [
        w for part in view.parts[received:] for piece in part.paragraphs for w in piece.split()
    ]
    assert after == new.story.text[place:].split()
    read = sum(1 for s in alignment.old_starts if s < position)
    assert len(new.story.text[:place].split()) == alignment.counterpart(read)


# --- examples ------------------------------------------------------------------------------------


def test_a_paragraph_moved_across_edited_ones_keeps_the_reader_inside_them() -> None:
    old = "Intro here.\n\nShort move.\n\nA b c d e f.\n\nG h i j k l.\n\nThe end."
    new = "Intro here.\n\nA b C d e f.\n\nG h i J k l.\n\nShort move.\n\nThe end."
    at = align(old, new).position(old.index("e f."))
    assert new[at:].startswith("e f.\n\nG h i J k l.")


def test_words_added_before_the_reading_point_are_counted_and_not_posted() -> None:
    old = "One two three.\n\nFour five six.\n\nSeven eight nine."
    new = "Zero zero.\n\nOne two three.\n\nFour five six.\n\nSeven eight nine."
    alignment = align(old, new)
    at = alignment.position(old.index("Seven"))
    assert new[at:] == "Seven eight nine."
    assert alignment.change(old.index("Seven")) == Change(added_before=2)
    assert alignment.doubt(old.index("Seven")) is None


def test_a_rewritten_sentence_the_channel_received_is_not_posted_again() -> None:
    old = "Derek stood there frowning at the pack.\n\nThen he left."
    new = "Derek stood there, frowning hard at the whole pack.\n\nThen he left."
    at = align(old, new).position(old.index("Then"))
    assert new[at:] == "Then he left."


def test_a_paragraph_inserted_exactly_where_the_channel_stopped_is_posted() -> None:
    old = "First part.\n\nSecond part."
    new = "First part.\n\nA new scene.\n\nSecond part."
    alignment = align(old, new)
    assert new[alignment.position(old.index("Second")) :] == "A new scene.\n\nSecond part."
    assert alignment.change(old.index("Second")) == Change(added_after=3)


def test_rewrapped_lines_and_blank_lines_are_no_edit() -> None:
    old = "a b c d\n\ne f g h"
    new = "a b\nc d\n\n\n\ne f\ng h"
    alignment = align(old, new)
    assert alignment.opcodes == (("equal", 0, 8, 0, 8),)
    assert not alignment.change(old.index("e")).words_changed


def test_a_text_mostly_replaced_is_too_weak_to_place_a_reader() -> None:
    old = " ".join(f"old{i}" for i in range(200))
    new = " ".join(f"new{i}" for i in range(150)) + " " + " ".join(f"old{i}" for i in range(50))
    reason = align(old, new).doubt(old.index("old100"))
    assert reason == "75% of the text it was following was replaced"


def test_the_text_around_the_reading_point_rewritten_is_too_weak_to_place_a_reader() -> None:
    words = [f"w{i}" for i in range(1000)]
    old = " ".join(words)
    new = " ".join(words[:400] + [f"x{i}" for i in range(200)] + words[600:])
    assert align(old, new).doubt(old.index("w500")) == (
        "the text around where this channel stopped was rewritten"
    )
    assert align(old, new).doubt(old.index("w900")) is None


def test_an_empty_old_text_continues_from_the_start() -> None:
    assert align("", "a b").position(0) == 0
    assert align("a b", "").position(3) == 0


def test_a_passage_keeps_its_start_when_text_is_added_just_before_it() -> None:
    old = "One two.\n\nThree four."
    new = "Foreword.\n\nOne two.\n\nThree four."
    alignment = align(old, new)
    assert alignment.start_of(0) == new.index("One")
    assert alignment.position(0) == 0  # a reader at the very start gets the foreword too

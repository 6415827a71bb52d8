"""Caption normalization for label matching, with a map back to the original offsets.

Labels are matched on a folded copy of the caption: compatibility-decomposed (fullwidth and
mathematical letters become ASCII, ligatures split), diacritics dropped ("Publicité" and
"Publicite" match alike), case-folded ("ß" becomes "ss"), zero-width and invisible format
characters removed, and Cyrillic/Greek letters that look like Latin ones mapped to those
("\u0430d" with a Cyrillic "\u0430" reads as "ad" to a follower, so it counts as one).

A label spelt out letter by letter ("# a d", "p u b l i", "A.D.V") is joined up ("#ad",
"publi", "adv") so it is found, and its folded span is kept in `Folded.spaced`, so the checker
can say it was spelt out: a run of single letters separated by one or two spaces, dots, hyphens,
underscores or stars, when it follows "#" or has at least three letters ("a b" stays apart).

Every folded character remembers which original character it came from, so a match on the
folded text is reported as a span of the caption the creator wrote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters that render as nothing: dropped so "#a\u200bd" reads as "#ad".
INVISIBLE = frozenset(
    "\u00ad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u061c"  # Arabic letter mark
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u180e"  # Mongolian vowel separator
    "\u200b\u200c\u200d\u200e\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2060\u2061\u2062\u2063\u2064"  # word joiner, invisible operators
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
    "\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07"  # variation selectors
    "\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f"
) | frozenset(chr(c) for c in range(0xE0020, 0xE0080))  # tag characters (flag sequences)

# Latin look-alikes from other scripts (lower case, as they appear after case folding), after
# Unicode's confusables data for the letters that matter in labels. NFKD already handles
# fullwidth, mathematical and circled letters. Written as escapes so the source stays readable:
# each string alternates look-alike, Latin letter.
_LOOKALIKES = (
    # Cyrillic
    "\u0430a\u0432b\u0441c\u0501d\u0435e\u0451e\u04bbh\u043dh\u0456i\u0457i\u0458j\u043ak\u04cfl"
    "\u043cm\u043eo\u0440p\u051bq\u0433r\u0455s\u0442t\u043fn\u0475v\u051dw\u0445x\u0443y"
    "\u04afy"
    # Greek
    "\u03b1a\u03b2b\u03b5e\u03b7n\u03b9i\u03bak\u03bdv\u03bfo\u03c1p\u03c4t\u03c5u\u03c7x"
    "\u03b3y\u03c9w\u03f2c\u03f3j\u03c2s\u03c3o\u03bcu"
    # Latin small capitals and other Latin look-alikes
    "\u0261g\u1d00a\u0299b\u1d04c\u1d05d\u1d07e\u0262g\u029ch\u026ai\u1d0aj\u1d0bk\u029fl"
    "\u1d0dm\u0274n\u1d0fo\u1d18p\u0280r\ua731s\u1d1bt\u1d1cu\u1d20v\u1d21w\u028fy\u1d22z"
    "\u0131i\u0251a\u0269i"
    # Punctuation standing in for ASCII in labels and mentions
    "\u2019'\u2018'\u02bc'\uff03#\ufe5f#\uff20@\u2010-\u2011-\u2012-\u2013-\u2014-"
)
CONFUSABLES: dict[str, str] = {
    _LOOKALIKES[i]: _LOOKALIKES[i + 1] for i in range(0, len(_LOOKALIKES), 2)
}
# Latin letters that NFKD does not decompose ("współpraca", "sœur").
CONFUSABLES.update(
    {
        "\u0142": "l",  # ł
        "\u0111": "d",  # đ
        "\u00f0": "d",  # ð
        "\u00f8": "o",  # ø
        "\u0127": "h",  # ħ
        "\u0167": "t",  # ŧ
        "\u00e6": "ae",  # æ
        "\u0153": "oe",  # œ
        "\u00fe": "th",  # þ
    }
)


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """The folded form of one character: "" if it is invisible or a combining mark."""
    if ch in INVISIBLE:
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", ch):
        if unicodedata.combining(part):
            continue
        for low in part.casefold():
            out.append(CONFUSABLES.get(low, low))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded caption. `starts[i]`/`ends[i]` are the original offsets of folded char i."""

    original: str
    text: str
    starts: tuple[int, ...] | None  # None: identity mapping (ASCII fast path)
    ends: tuple[int, ...] | None
    spaced: tuple[tuple[int, int], ...] = ()  # folded spans of joined-up spelt-out runs
    _visible: tuple[int, ...] | None = None  # prefix counts of visible characters, lazily

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) offsets of the folded range [start, end); end > start."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]

    def visible(self, offset: int) -> int:
        """How many characters a reader sees before original `offset`: invisible characters
        and combining marks take no room (what counts for a platform's "… more" cut)."""
        if self.starts is None:
            return offset
        if self._visible is None:
            counts = [0]
            for ch in self.original:
                hidden = ch in INVISIBLE or unicodedata.combining(ch) > 0
                counts.append(counts[-1] + (0 if hidden else 1))
            object.__setattr__(self, "_visible", tuple(counts))
        assert self._visible is not None
        return self._visible[offset]


# Single letters, each standing alone, joined by one or two separators; "#" may lead.
_SPACED = re.compile(r"(?<!\w)(#[ ]?)?([^\W\d_](?:[ .\-_*\u00b7]{1,2}[^\W\d_])+)(?!\w)")


def _join_spaced(folded: Folded) -> Folded:
    """Join up letter-by-letter runs (see the module docstring); unchanged if there are none."""
    text = folded.text
    runs = [
        m
        for m in _SPACED.finditer(text)
        if m.group(1) is not None or sum(c.isalpha() for c in m.group(2)) >= 3
    ]
    if not runs:
        return folded
    n = len(text)
    starts = list(folded.starts) if folded.starts is not None else list(range(n))
    ends = list(folded.ends) if folded.ends is not None else list(range(1, n + 1))
    chars: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    spaced: list[tuple[int, int]] = []
    i = 0
    for m in runs:
        for j in range(i, m.start()):
            chars.append(text[j])
            new_starts.append(starts[j])
            new_ends.append(ends[j])
        begin = len(chars)
        for j in range(m.start(), m.end()):
            ch = text[j]
            if ch == "#" or ch.isalpha():
                chars.append(ch)
                new_starts.append(starts[j])
                new_ends.append(ends[j])
        spaced.append((begin, len(chars)))
        i = m.end()
    for j in range(i, n):
        chars.append(text[j])
        new_starts.append(starts[j])
        new_ends.append(ends[j])
    return Folded(
        folded.original, "".join(chars), tuple(new_starts), tuple(new_ends), tuple(spaced)
    )


def fold(caption: str) -> Folded:
    """Fold a caption for matching (see the module docstring)."""
    if caption.isascii():
        # ASCII folds to its lower case one-to-one: no offset map needed (the common case).
        return _join_spaced(Folded(caption, caption.lower(), None, None))
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(caption):
        folded = fold_char(ch)
        if not folded:
            # A combining mark belongs to the letter before it: widen that letter's span.
            if ends and ch not in INVISIBLE and ends[-1] == i:
                ends[-1] = i + 1
            continue
        for part in folded:
            chars.append(part)
            starts.append(i)
            ends.append(i + 1)
    return _join_spaced(Folded(caption, "".join(chars), tuple(starts), tuple(ends)))

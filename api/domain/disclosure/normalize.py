"""Caption normalization for label matching, with a map back to the original offsets.

Labels are matched on a folded copy of the caption: compatibility-decomposed (fullwidth and
mathematical letters become ASCII, ligatures split), diacritics dropped ("Publicité" and
"Publicite" match alike), case-folded ("ß" becomes "ss"), zero-width and invisible format
characters removed, and Cyrillic/Greek letters that look like Latin ones mapped to those
("\u0430d" with a Cyrillic "\u0430" reads as "ad" to a follower, so it counts as one).

Every folded character remembers which original character it came from, so a match on the
folded text is reported as a span of the caption the creator wrote.
"""

from __future__ import annotations

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
    "\u0430a\u0432b\u0501d\u0435e\u0451e\u04bbh\u043dh\u0456i\u0457i\u0458j\u043ak\u04cfl"
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


def fold(caption: str) -> Folded:
    """Fold a caption for matching (see the module docstring)."""
    if caption.isascii():
        # ASCII folds to its lower case one-to-one: no offset map needed (the common case).
        return Folded(caption, caption.lower(), None, None)
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
    return Folded(caption, "".join(chars), tuple(starts), tuple(ends))

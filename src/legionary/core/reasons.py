"""The written reason of an audited action (unsealing, next of kin, erasure, a decision, an override...).

Responsible for the one rule every reason field follows, in forms, the API and the CLI alike: what
is recorded is the text with format (Unicode Cf) and control (Cc) characters and the other
invisible code points removed and every run of space separators (Z*) made one space; and it must
then still hold letters a reader can see. Five zero-width spaces are not a reason.

Must never: log or store the raw text (callers record what this returns).
"""

from __future__ import annotations

import unicodedata

# Letters (Unicode category L*) that render as nothing: the Hangul fillers.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
# A reason must hold at least this many visible letters, in any script.
MIN_LETTERS = 3


def _blank(char: str) -> bool:
    return unicodedata.category(char)[0] in ("Z", "C") or char.isspace()


def visible_reason(raw: str | None, *, min_length: int = 5) -> str:
    """The reason as it is recorded, or "" when it holds too little to read.

    Control and space characters become one space between words; format, surrogate, private-use and
    unassigned code points and invisible letters are dropped. The result is empty when it is shorter
    than ``min_length`` characters or holds fewer than ``MIN_LETTERS`` letters.
    """
    words: list[str] = []
    word: list[str] = []
    for char in raw or "":
        if char.isspace() or unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc"):
            if word:
                words.append("".join(word))
                word = []
        elif not _blank(char) and char not in _INVISIBLE_LETTERS:
            word.append(char)
    if word:
        words.append("".join(word))
    reason = " ".join(words)
    letters = sum(1 for char in reason if unicodedata.category(char).startswith("L"))
    if len(reason) < min_length or letters < MIN_LETTERS:
        return ""
    return reason

"""Name normalisation for blind indexing: any script to Latin, then a phonetic skeleton.

Responsible for turning a personal name, as an applicant or an officer typed it, into short
ASCII strings that are equal for the usual spellings of one name:

- ``latinise`` maps Cyrillic (Russian, Ukrainian, Belarusian, Serbian/Macedonian letters),
  Georgian (Mkhedruli and Mtavruli), Greek and Latin-with-diacritics (``č``, ``ё`` typed in a
  Latin word, ISO 9 letters such as ``â`` for я, ``ß``) to lower-case Latin words. It is a
  transliteration, not yet a fold: ``Дмитрий`` becomes ``dmitriy``.
- ``skeleton`` folds the transliteration conventions onto one form per word, so that
  Dmitriy/Dmitrii/Dmitrij/Dmitry/Dmitri, Kuznetsov/Kuznetcov/Kuznecov/Kusnezow,
  Mikhail/Mihail/Mixail/Michail, Yuliya/Iuliia/Julija and Fyodor/Fedor/Fjodor agree. Besides
  the English, scholarly and ISO systems it knows the German (Chruschtschow, Dschawachischwili,
  Schewardnadse), Polish (Juszczenko) and French (Kouznetsov, Iouri, Sergueï, Chostakovitch,
  Joukov) spellings, and the surname ending -ёв after ж/ш/щ/ч written -ov or -ev
  (Gorbatschow/Gorbachev).
- ``skeleton_variants`` gives every reading of an ambiguous spelling (a bare ``c`` is к in
  "Nicolai" but ц in "Kuznecov"), at most ``MAX_VARIANTS`` of them.
- ``name_form`` maps the skeleton of a Ukrainian or Belarusian form of a common given name, or of
  an unambiguous diminutive, onto the skeleton of the Russian full form (Dmytro, Dzmitry, Dima ->
  Dmitriy); ``name_key_words`` is ``skeleton_words`` through it. ``NAME_FORMS`` is the whole,
  deliberately small, list.
- ``deletion_neighbourhood`` lists a word and its one-letter deletions, so two spellings one typo
  apart (substitution, insertion, deletion or an adjacent swap) share at least one entry.

Every function here is total: any Python ``str`` (empty, combining marks, bidirectional
overrides, zero-width joiners, NUL, lone surrogates, unsupported scripts) gives a ``str`` or a
collection of them and never raises. Letters of scripts without a table pass through lower-cased,
so an Arabic or Armenian name still matches its own spelling.

The skeleton alphabet is plain lower-case ASCII. Three letters stand for classes of sounds that
transliterations confuse:

- ``x`` — х, г, ч and кс (kh, h, x, g, gu before e/i, ch, tch, tsch, cz, ks):
  Mikhail/Mixail/Michail, Zakhar/Zaxar, Igor/Ihor, Maksim/Maxim, Gorbachev/Gorbatschow;
- ``s`` — с, з, ц, дз (s, z, ts, tz, tc, c before e/i/y, dz, ds before a vowel):
  Kuznetsov/Kusnezow, Beridze/Beridse;
- ``sh`` — ш, щ, ж (sh, sch, shch, schtsch, szcz, chtch, zh, sz; ch and j in a word spelt the
  French way): Zhukov/Schukow/Joukov, Khrushchev/Chruschtschow/Khrouchtchev.

Vowels are kept (the skeleton must tell Aleksandr from Aleksandra, Maria from Mario); only the
glides y/i/j that transliterations write differently, French "ou" for у, and o/e in the hushed
surname ending are folded.

Not folded, because the letters mean something else in the other systems: French "ch" and "j"
in a word without a French mark ("ou" inside the word, or "tch"), so Chevardnadze and
Djavakhichvili stay apart from Shevardnadze and Javakhishvili; French mute final "e"
(Soljenitsyne, Eltsine); Polish forms of names (Michał, Andrzej), which are other names.

Never logs, stores or prints its input: callers pass plaintext identities.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "MAX_VARIANTS",
    "NAME_FORMS",
    "NameParts",
    "deletion_neighbourhood",
    "deletion_neighbourhood2",
    "is_patronymic",
    "latinise",
    "name_form",
    "name_key_words",
    "name_words",
    "skeleton",
    "skeleton_variants",
    "skeleton_words",
    "split_full_name",
]

# A word yields at most this many readings; beyond it the extra ambiguous letters take their
# first reading. Keeps the number of index rows per person bounded whatever the input.
MAX_VARIANTS = 4

# Published transliteration facts (a BGN/PCGN-like reading for Russian, with the Ukrainian,
# Belarusian and South Slavic letters added). The skeleton folds the rival systems together,
# so which system is used here matters less than covering every letter.
_CYRILLIC: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Ukrainian and Belarusian
    "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ў": "u",
    # Serbian, Macedonian
    "ђ": "dj", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "ch", "џ": "dzh", "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
}  # fmt: skip

# Georgian national system (2002); the ejective apostrophes are dropped because applicants
# almost never type them. Mtavruli capitals are case-folded to these before lookup.
_GEORGIAN: dict[str, str] = {
    "ა": "a", "ბ": "b", "გ": "g", "დ": "d", "ე": "e", "ვ": "v", "ზ": "z", "თ": "t", "ი": "i",
    "კ": "k", "ლ": "l", "მ": "m", "ნ": "n", "ო": "o", "პ": "p", "ჟ": "zh", "რ": "r", "ს": "s",
    "ტ": "t", "უ": "u", "ფ": "p", "ქ": "k", "ღ": "gh", "ყ": "q", "შ": "sh", "ჩ": "ch", "ც": "ts",
    "ძ": "dz", "წ": "ts", "ჭ": "ch", "ხ": "kh", "ჯ": "j", "ჰ": "h",
    # archaic letters still seen in old documents
    "ჱ": "e", "ჲ": "y", "ჳ": "v", "ჴ": "q", "ჵ": "o", "ჶ": "f",
}  # fmt: skip

_GREEK: dict[str, str] = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i",
    "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "ks", "ο": "o", "π": "p", "ρ": "r", "σ": "s",
    "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "kh", "ψ": "ps", "ω": "o",
}  # fmt: skip

# Latin letters whose meaning is lost by merely stripping the accent: the ISO 9 / GOST 7.79
# letters for Cyrillic (â = я, û = ю, ŝ = щ, ê = є, ë = ё), the Czech/Croatian/Polish hacheks and
# acutes used for Slavic names, and letters that have no decomposition at all (ß, ø, ł, đ, æ).
_LATIN_SPECIAL: dict[str, str] = {
    "č": "ch", "š": "sh", "ž": "zh", "ć": "ch", "ś": "s", "ź": "z", "ż": "zh", "ŝ": "shch",
    "â": "ya", "û": "yu", "ê": "ye", "ë": "yo", "ï": "yi", "è": "e", "ŭ": "u", "ř": "r",
    "ß": "ss", "ø": "o", "ł": "l", "đ": "dj", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d",
    "ı": "i", "ŋ": "n", "ħ": "h",
}  # fmt: skip

_TABLE: dict[str, str] = {**_CYRILLIC, **_GEORGIAN, **_GREEK, **_LATIN_SPECIAL}

# Marks that transliterations use for the soft and hard signs (ь, ъ) and apostrophes inside
# names (O'Brien, Il'ya, D'Artagnan): they join the letters around them, they do not split words.
_JOINERS = frozenset("'’‘ʹʺʼ`´″\"ʻ")

_VOWELS = frozenset("aeiou")


def _is_letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L")


def _latinise_once(text: str) -> str:
    # Lone surrogates cannot be normalised or encoded; they carry no name anyway.
    cleaned = "".join(" " if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    # NFKC composes a decomposed "č" (c + combining caron) so that it meets the table as one
    # letter, and folds compatibility forms (full-width letters, ligatures).
    composed = unicodedata.normalize("NFKC", cleaned).casefold()
    pieces: list[str] = []
    for ch in composed:
        if ch in _TABLE:
            pieces.append(_TABLE[ch])
        elif ch in _JOINERS or unicodedata.category(ch) == "Cf":
            # Format characters (zero-width joiners, bidirectional overrides, soft hyphens) are
            # invisible: a name pasted with them must equal the same name typed without.
            continue
        elif _is_letter(ch) or unicodedata.combining(ch):
            # combining marks are kept until the accents are dropped just below
            pieces.append(ch)
        else:
            pieces.append(" ")
    # Accents without a table entry (é, ü, ñ, ő...) are dropped after decomposition.
    decomposed = unicodedata.normalize("NFKD", "".join(pieces))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(w for w in (_only_letters(w) for w in stripped.split()) if w)


def latinise(text: str) -> str:
    """Transliterate ``text`` to lower-case Latin words separated by single spaces.

    Letters of scripts without a table are kept lower-cased; digits, punctuation, controls,
    apostrophes, soft signs and invisible format characters (zero-width, bidirectional) vanish.
    Idempotent: ``latinise(latinise(s)) == latinise(s)``.
    """
    # Dropping an accent can expose a letter of the table (Tajik "ӣ" is "и" with a macron), and
    # casefolding can expose another; a few passes reach the fixed point, which is what makes
    # the function idempotent.
    current = _latinise_once(text)
    for _ in range(4):
        following = _latinise_once(current)
        if following == current:
            break
        current = following
    return current


def _only_letters(word: str) -> str:
    return "".join(ch for ch in word if _is_letter(ch))


def name_words(text: str) -> list[str]:
    """The latinised words of ``text``, in order (hyphenated names give two words)."""
    return latinise(text).split()


# Ordered by length so that the longest spelling wins at each position (shch before sh before s).
# Besides the English, scholarly and ISO systems, the German (schtsch, tsch, sch, dsch, s/z, w),
# Polish (szcz, cz, sz, w) and French (chtch, tch, ou, gu before e/i) spellings of Cyrillic and
# Georgian letters are folded: щ is shch / schtsch / szcz / chtch, у is u / ou, дж (ჯ) is dzh /
# dsch, дз (ძ) is dz / ds before a vowel, г before е/и is g / gu.
_DIGRAPHS: tuple[tuple[str, str], ...] = (
    ("schtsch", "sh"),
    ("chtch", "sh"),
    ("shch", "sh"), ("szcz", "sh"), ("tsch", "x"), ("dsch", "j"),
    ("sch", "sh"), ("tch", "x"), ("dzh", "j"), ("dsh", "dsh"),
    ("dsa", "sa"), ("dse", "se"), ("dsi", "si"), ("dso", "so"), ("dsu", "su"), ("dsy", "sy"),
    ("gue", "xe"), ("gui", "xi"), ("guy", "xy"),
    ("sh", "sh"), ("zh", "sh"), ("sz", "sh"),
    ("ch", "x"), ("cz", "x"), ("kh", "x"), ("ks", "x"), ("gh", "x"),
    ("ts", "s"), ("tz", "s"), ("tc", "s"), ("dz", "s"), ("ck", "k"), ("ph", "f"), ("ou", "u"),
)  # fmt: skip

_SINGLES: dict[str, str] = {
    "x": "x", "h": "x", "g": "x", "z": "s", "w": "v", "q": "k", "j": "y",
}  # fmt: skip


# French writes ш as "ch" and ж as "j" (Chostakovitch, Joukov, Soljenitsyne), where English and
# German read "ch" as ч or х and "j" as й. A word is read the French way only when it carries a
# mark no other system uses for a Russian name: "ou" for у, or "tch" for ч (German has "tsch").
# A final "ou" is Belarusian "оў" (Kazlou), not French, and marks nothing.
_FRENCH_MARK = re.compile(r"ou(?=.)|(?<!s)tch")


def _map_consonants(word: str, c_as_k: Iterable[bool]) -> str:
    """Replace spellings by their sound classes; ``c_as_k`` decides each ambiguous bare ``c``."""
    choices = iter(c_as_k)
    french = _FRENCH_MARK.search(word) is not None
    out: list[str] = []
    i = 0
    while i < len(word):
        if french and word.startswith(("ch", "dj"), i) and not word.startswith("chtch", i):
            out.append("sh" if word[i] == "c" else "j")
            i += 2
            continue
        for spelling, sound in _DIGRAPHS:
            if word.startswith(spelling, i):
                out.append(sound)
                i += len(spelling)
                break
        else:
            ch = word[i]
            if french and ch == "j":
                out.append("sh")
            elif ch == "c":
                following = word[i + 1 : i + 2]
                # Before a front vowel c is ц in every system; elsewhere it is к in Western
                # spellings (Nicolai, Victor) and ц in scholarly ones (Kuznecov): both readings.
                if following in ("e", "i", "y"):
                    out.append("s")
                else:
                    out.append("k" if next(choices, True) else "s")
            else:
                out.append(_SINGLES.get(ch, ch))
            i += 1
    return "".join(out)


def _fold_glides(word: str) -> str:
    """Fold the y/i/j glides that transliteration systems write differently.

    - word-initial glide + vowel: ya/ia/ja -> "ya", yu/iu/ju -> "yu", ye/ie/je and yo/io/jo -> "e"
      (е and ё at the start of a Russian word are "ye"/"yo" in one system and "e" in another);
    - a glide between a consonant and a vowel is dropped, and ё's "o" becomes "e" there
      (Dementyev/Dementiev/Dementev, Fyodor/Fiodor/Fedor, Tret'yakov/Tretiakov);
    - a glide between two vowels is dropped (Andreyev/Andreev, Mariya/Maria);
    - any other run of i/y is one "i" (Dmitriy/Dmitrii/Dmitry, Nikolay/Nikolai, Bykov/Bikov).
    """
    out: list[str] = []
    i = 0
    n = len(word)
    while i < n:
        ch = word[i]
        if ch not in ("i", "y"):
            out.append(ch)
            i += 1
            continue
        j = i
        while j < n and word[j] in ("i", "y"):
            j += 1
        following = word[j] if j < n else ""
        if following in ("a", "e", "o", "u"):
            if not out:
                if following in ("e", "o"):
                    out.append("e")
                else:
                    out.append("y" + following)
                i = j + 1
                continue
            if following == "o" and out[-1] not in _VOWELS:
                out.append("e")
                i = j + 1
                continue
            # the glide disappears, the vowel is emitted on the next round
            i = j
            continue
        out.append("i")
        i = j
    return "".join(out)


class _ChoiceCounter:
    """An endless supply of "read c as к" that counts how often it was asked."""

    def __init__(self) -> None:
        self.asked = 0

    def __iter__(self) -> _ChoiceCounter:
        return self

    def __next__(self) -> bool:
        self.asked += 1
        return True


def _collapse_doubles(word: str) -> str:
    return "".join(ch for k, ch in enumerate(word) if k == 0 or word[k - 1] != ch)


# ё after ж, ш, щ, ч is written "o" by German, Polish, ISO and Ukrainian spellings (Gorbatschow,
# Chruszczow, Хрущов) and "e" by English ones (Gorbachev, Khrushchev). Only the surname ending
# -ов/-ёв/-ев after one of those letters is folded: elsewhere o and e tell names apart
# (Shostakovich is not Shestakovich).
_HUSHED_ENDINGS = tuple(f"{husher}{ending}" for husher in ("sh", "x") for ending in ("ov", "ova"))


def _fold_hushed_yo(word: str) -> str:
    if word.endswith(_HUSHED_ENDINGS):
        cut = word.rindex("o")
        return word[:cut] + "e" + word[cut + 1 :]
    return word


def _skeleton_once(word: str, c_as_k: Iterable[bool]) -> str:
    return _fold_hushed_yo(_collapse_doubles(_fold_glides(_map_consonants(word, c_as_k))))


def _fixpoint(word: str, c_as_k: tuple[bool, ...]) -> str:
    # One pass can create a spelling that a second pass would fold (k + ts gives "ks", a glide
    # drop can bring two equal letters together); repeating until nothing changes makes the
    # skeleton idempotent. Every rule keeps or shortens the word, and the pass is deterministic,
    # so this ends; the bound is a belt-and-braces guard.
    current = _skeleton_once(word, c_as_k)
    for _ in range(len(word) + 1):
        following = _skeleton_once(current, ())
        if following == current:
            break
        current = following
    return current


def skeleton_variants(word: str) -> list[str]:
    """All phonetic skeletons of one latinised word (deduplicated, at most ``MAX_VARIANTS``).

    The first entry is the primary reading. Non-ASCII letters (scripts without a table) pass
    through unchanged, so such a word is its own skeleton.
    """
    return list(_skeleton_variants(word))


# Names repeat a great deal (a few thousand given names cover most people), so the pure
# per-word computation is cached: bulk import and re-indexing spend most of their time here.
# The cache holds name fragments in memory only for the life of the process; it is never
# written anywhere, and it is bounded.
@functools.lru_cache(maxsize=50_000)
def _skeleton_variants(word: str) -> tuple[str, ...]:
    word = latinise(word).replace(" ", "")
    if not word:
        return ()
    counter = _ChoiceCounter()
    _map_consonants(word, counter)
    ambiguous = counter.asked
    # Each ambiguous c doubles the readings; only the first few branch, the rest read as к.
    branching = min(ambiguous, (MAX_VARIANTS - 1).bit_length())
    seen: list[str] = []
    for choice in itertools.product((True, False), repeat=branching):
        form = _fixpoint(word, choice + (True,) * (ambiguous - branching))
        if form and form not in seen:
            seen.append(form)
        if len(seen) >= MAX_VARIANTS:
            break
    return tuple(seen)


def skeleton(text: str) -> str:
    """The primary phonetic skeleton of each word of ``text``, joined by spaces, in input order.

    Case, script and transliteration system do not change it; see the module docstring for the
    classes. Idempotent: ``skeleton(skeleton(s)) == skeleton(s)``.
    """
    return " ".join(v[0] for v in (skeleton_variants(w) for w in name_words(text)) if v)


def skeleton_words(text: str) -> list[list[str]]:
    """For each word of ``text``, its skeleton variants (words with no letters are left out)."""
    return [v for v in (skeleton_variants(w) for w in name_words(text)) if v]


def deletion_neighbourhood(word: str, min_length: int = 4) -> set[str]:
    """``word`` and every string made by deleting one of its letters.

    Two words within one edit (a substitution, an insertion, a deletion or a swap of neighbours)
    always share an entry. Words shorter than ``min_length`` give only themselves, because one
    deletion from a three-letter name ("Ian") reaches too many other names.
    """
    result = {word}
    if len(word) >= min_length:
        result.update(word[:k] + word[k + 1 :] for k in range(len(word)))
    return result


def deletion_neighbourhood2(word: str, min_length: int = 7) -> set[str]:
    """``word`` with up to two of its letters deleted (a symmetric-deletion neighbourhood of depth 2).

    Two words within two edits share an entry. Only words of at least ``min_length`` letters get
    the deletions (a short word two deletions away from another is usually another name);
    shorter words give only themselves. A word of length L gives 1 + L + L(L-1)/2 entries at most.
    """
    result = {word}
    if len(word) < min_length:
        return result
    once = {word[:k] + word[k + 1 :] for k in range(len(word))}
    result |= once
    for shorter in once:
        result.update(shorter[:k] + shorter[k + 1 :] for k in range(len(shorter)))
    return result


# One given name in its Russian, Ukrainian and Belarusian forms and its commonest diminutives.
# A record written "Дмитро" (Ukrainian), "Дзмітрый" (Belarusian) or "Дима" (diminutive) and one
# written "Дмитрий" are the same given name; ``name_form`` maps every form on the left's skeleton.
# Kept small on purpose, and only for forms that name one man or one woman: Саша (Aleksandr or
# Aleksandra), Женя, Валя, Шура and Слава (Vyacheslav, Yaroslav, Stanislav...) are left out, as
# are forms whose skeleton is already another name (Лёня folds to "lena", Витя to Vita).
NAME_FORMS: dict[str, tuple[str, ...]] = {
    "Александр": ("Олександр", "Аляксандр", "Alexander", "Alexandre"),
    "Алексей": ("Олексій", "Аляксей", "Алёша", "Лёша"),
    "Анатолий": ("Анатолій", "Анатоль", "Толя"),
    "Андрей": ("Андрій", "Андрэй", "Андрюша"),
    "Анна": ("Ганна", "Аня"),
    "Анастасия": ("Анастасія", "Настя"),
    "Артём": ("Тёма",),
    "Борис": ("Барыс", "Боря"),
    "Василий": ("Василь", "Васіль", "Вася"),
    "Владимир": ("Володимир", "Уладзімір", "Володя", "Вова"),
    "Георгий": ("Георгій", "Гоша", "Жора"),
    "Григорий": ("Рыгор", "Гриша"),
    "Дмитрий": ("Дмитро", "Дзмітрый", "Дима", "Митя"),
    "Евгений": ("Євген", "Яўген", "Евгеній"),
    "Екатерина": ("Катерина", "Кацярына", "Катя"),
    "Елена": ("Олена", "Лена"),
    "Иван": ("Іван", "Ваня"),
    "Ирина": ("Ірина", "Ірына", "Ира"),
    "Кирилл": ("Кирило", "Кірыла"),
    "Константин": ("Костянтин", "Канстанцін", "Костя"),
    "Матвей": ("Матвій",),
    "Мария": ("Марія", "Марыя", "Маша"),
    "Михаил": ("Михайло", "Міхаіл", "Миша"),
    "Наталья": ("Наталія", "Наталля", "Наташа"),
    "Николай": ("Микола", "Мікалай", "Коля"),
    "Ольга": ("Вольга", "Оля"),
    "Павел": ("Павло", "Павал", "Паша"),
    "Пётр": ("Петро", "Пятро", "Петя"),
    "Сергей": ("Сергій", "Сяргей", "Серёжа"),
    "Татьяна": ("Тетяна", "Таццяна", "Таня"),
    "Тимофей": ("Тимофій", "Цімафей"),
    "Фёдор": ("Федір", "Федя"),
    "Юлия": ("Юля",),
    "Юрий": ("Юрій", "Юра"),
    "Яков": ("Яків", "Якаў"),
}


def _build_name_forms() -> dict[str, str]:
    canonical = {skeleton(name) for name in NAME_FORMS}
    claims: dict[str, set[str]] = {}
    for name, forms in NAME_FORMS.items():
        target = skeleton(name)
        for form in forms:
            for variant in skeleton_variants(form):
                claims.setdefault(variant, set()).add(target)
    # A form that two names claim, or that is itself one of the names, stays as it is.
    return {
        form: next(iter(targets))
        for form, targets in claims.items()
        if len(targets) == 1 and (form not in canonical or form in targets)
    }


_FORM_TO_NAME: dict[str, str] = _build_name_forms()


def name_form(word_skeleton: str) -> str:
    """The skeleton of the Russian full form for a skeleton of one of its listed forms, else itself.

    ``name_form(skeleton("Дмитро")) == name_form(skeleton("Dima")) == skeleton("Дмитрий")``.
    """
    return _FORM_TO_NAME.get(word_skeleton, word_skeleton)


def name_key_words(text: str) -> list[list[str]]:
    """``skeleton_words`` with each reading mapped through ``name_form`` (for name keys, not patronymics)."""
    return [list(dict.fromkeys(name_form(v) for v in variants)) for variants in skeleton_words(text)]


# --- full names as lists write them ---------------------------------------------------------------

# Skeleton endings of East Slavic patronymics (-ovich, -evich, -ovych, -avich are all "...vix";
# -ovna, -evna, -ivna, -avna are "...vna"; -ichna as in Ilyinichna), and the few short forms
# in -ich (Ilyich, Kuzmich, Lukich, Fomich, Savvich). Turkic patronymics (Huseyn oglu) are two
# words and are not recognised: such a name keeps them as given names.
_PATRONYMIC_ENDINGS = ("vix", "vna", "ixna")
_PATRONYMIC_WORDS = frozenset(
    v for w in ("Ilyich", "Kuzmich", "Lukich", "Fomich", "Savvich") for v in _skeleton_variants(w)
)


def is_patronymic(word: str) -> bool:
    """Whether one word reads as a patronymic in any script or transliteration (Mikhailovich,
    Михайлович, Mykhailovych, Ivanovna, Ilyich). Surnames ending in -ovich (Belarusian, Serbian)
    also read as one: ``split_full_name`` uses letter case and position to tell them apart."""
    variants = skeleton_variants(word)
    return any(v.endswith(_PATRONYMIC_ENDINGS) or v in _PATRONYMIC_WORDS for v in variants)


@dataclass(frozen=True, slots=True)
class NameParts:
    """One reading of a full name: given names, family name and patronymic, as written (may be empty)."""

    given: str
    family: str
    patronymic: str = ""


_MAX_PARSES = 4


def _shouted(word: str) -> bool:
    letters = [ch for ch in word if _is_letter(ch)]
    return len(letters) > 1 and all(ch.isupper() for ch in letters)


def _pick_patronymic(words: list[str], family: set[int]) -> int | None:
    """Position of the patronymic among ``words`` (never one of the ``family`` positions), or None."""
    candidates = [k for k, w in enumerate(words) if k not in family and is_patronymic(w)]
    if len(words) < 2 or not candidates:
        return None
    if len(candidates) == 1:
        # A lone "-ovich" word in a two-word name is a surname (Petrovich Ivan), unless the
        # family name is marked otherwise; a patronymic needs a given name and a family name.
        if len(words) == 2 and not family:
            return None
        return candidates[0]
    # Two candidates (Lukashevich Aleksandr Grigoryevich, Aleksandr Grigoryevich Lukashevich):
    # the middle one in "given patronymic family", else the last in "family given patronymic".
    if 1 in candidates and len(words) == 3:
        return 1
    return candidates[-1]


def split_full_name(text: str) -> list[NameParts]:
    """The readings of a full name in the orders lists use, most likely first (at most four).

    - "Family, Given Patronymic" (a comma): the family name before it;
    - family name in capitals, anywhere ("NOSOV Timur Mikhailovich", "Timur NOSOV");
    - a patronymic recognised by its ending in any script ("Nosov Timur Mikhailovich",
      "Тимур Михайлович Носов"): given-patronymic-family when it stands in the middle,
      family-given-patronymic when it stands last;
    - otherwise both orders ("Timur Nosov" and "Nosov Timur").

    Total on any text; a name of one word is a given name with no family name.
    """
    text = " ".join(text.split())
    if not text:
        return []
    if "," in text:
        family_text, _, after = text.partition(",")
        words = after.replace(",", " ").split()
        # after the comma: given names and perhaps a patronymic, never the family name again
        patronymic = _pick_patronymic(words, set()) if len(words) > 2 else None
        if len(words) == 2 and is_patronymic(words[1]):
            patronymic = 1
        given = " ".join(w for k, w in enumerate(words) if k != patronymic)
        return [NameParts(given, family_text.strip(), words[patronymic] if patronymic is not None else "")]
    words = text.split()
    if len(words) == 1:
        return [NameParts(words[0], "")]
    shouted = {k for k, w in enumerate(words) if _shouted(w)}
    family_marked = shouted if shouted and len(shouted) < len(words) else set()
    patronymic = _pick_patronymic(words, family_marked)
    patronymic_text = words[patronymic] if patronymic is not None else ""
    rest = [k for k in range(len(words)) if k != patronymic]
    if family_marked:
        given = " ".join(words[k] for k in rest if k not in family_marked)
        family = " ".join(words[k] for k in rest if k in family_marked)
        return [NameParts(given, family, patronymic_text)]
    parses: list[NameParts] = []
    if patronymic is not None and patronymic == len(words) - 1 and len(rest) >= 2:
        # Family Given Patronymic (the register order of Russian lists)
        parses.append(NameParts(" ".join(words[k] for k in rest[1:]), words[rest[0]], patronymic_text))
    if patronymic is not None and 0 < patronymic < len(words) - 1:
        # Given Patronymic Family
        parses.append(
            NameParts(" ".join(words[k] for k in rest[:-1]), " ".join(words[k] for k in rest[-1:]), patronymic_text)
        )
    rest_words = [words[k] for k in rest]
    if len(rest_words) == 1:
        parses.append(NameParts(rest_words[0], "", patronymic_text))
    else:
        parses.append(NameParts(" ".join(rest_words[:-1]), rest_words[-1], patronymic_text))
        parses.append(NameParts(" ".join(rest_words[1:]), rest_words[0], patronymic_text))
    unique = list(dict.fromkeys(parses))
    return unique[:_MAX_PARSES]

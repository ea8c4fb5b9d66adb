"""Every catalogue renders the domain's words as ``shared/glossary.md`` says, and none keeps a rendering
that the review of the catalogues found wrong.

The glossary's table gives one rendering per term and language. For every catalogue of every app
(``src/legionary/**/locale/LANG/LC_MESSAGES/django.po``), each entry whose English text contains a
term (as a whole word; a plural "s" allowed) must have a translation containing each significant
word of that term's rendering, up to its ending (Slavic and Georgian words inflect: "заява" is
"заяву", "заяви"). Alternatives written "a / b" in both columns pair up in order.

The review's findings (the list under the table) are checked as forbidden renderings: each row of
``FORBIDDEN`` names the finding it enforces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import legionary
from tests.core.test_translations import read_po

ROOT = Path(__file__).resolve().parents[2]
# shared/ lies beside the checkout (CI, /work/main); a worktree one folder deeper finds it one level up.
GLOSSARY = next(
    (p for p in (ROOT.parent / "shared" / "glossary.md", ROOT.parent.parent / "shared" / "glossary.md") if p.exists()),
    ROOT.parent / "shared" / "glossary.md",
)
SRC = Path(legionary.__file__).parent
CATALOGUES = sorted(SRC.glob("**/locale/*/LC_MESSAGES/django.po"))
COLUMNS = ["en", "uk", "ru", "be", "ka"]
# Forms whose stem differs from the dictionary form's (vowel changes, syncope); each is a real
# inflection of the glossary's word, not another word.
INFLECTIONS = {
    "особи": ("осіб",),  # uk: genitive plural of "особи"
    "фахівець": ("фахівц",),  # uk: "фахівця", "фахівцеві" (the stem's vowel drops)
    "перечень": ("перечн",),  # ru: "перечня", "перечни", "перечнем" (the stem's vowel drops)
    "ქვითარი": ("ქვითრ",),  # ka: "ქვითრით", "ქვითრის" (the stem's vowel drops)
}
# Entries where a word of the glossary's rendering would be false, with the reason.
EXCEPTIONS = {
    ("sign-off", "Instructor sign-off"): "the instructor's approval comes before the final one ('остаточне')",
}
# The review's findings (glossary.md, "What a review of the project's catalogues found"); a pattern
# may be limited to entries whose English matches a second one (printing a checkpoint is printing).
FORBIDDEN: list[tuple[str, str, str]] = [
    ("ru", r"распечат(?#unseal|identity)", "Russian 'Распечатать' for unseal reads as 'print'"),
    ("uk", r"призначен\w* осіб", "'designation' rendered as appointed persons"),
    ("ru", r"назначенн\w* лиц", "'designation' rendered as appointed persons"),
    ("uk", r"штатн\w* розклад", "'roster' rendered as the table of posts"),
    ("ru", r"штатн\w* расписани", "'roster' rendered as the table of posts"),
    ("be", r"штатн\w* расклад", "'roster' rendered as the table of posts"),
    ("ru", r"\bя согласен\b", "consent in the masculine only; use 'Я даю согласие'"),
    ("be", r"\bя згодны\b", "consent in the masculine only; use 'Я даю згоду'"),
    ("ka", r"შემოერთ", "Georgian 'join' as annexing territory"),
    ("ka", r"დამწერლობ", "Georgian 'spellings' as a writing system"),
    ("ka", r"მიანიჭ|მინიჭ", "Georgian 'Assign' as conferring a title"),
    ("ka", r"არ მიიღეს", "Georgian refusal sentence colloquial"),
    ("uk", r"слідч", "'Investigator' as a criminal-procedure office"),
    ("ru", r"следовател", "'Investigator' as a criminal-procedure office"),
    ("be", r"следч", "'Investigator' as a criminal-procedure office"),
    ("uk", r"експерт\w* з допуск", "'adjudicator' as 'expert on clearance'"),
    ("ru", r"эксперт\w* по допуск", "'adjudicator' as 'expert on clearance'"),
    ("uk", r"заявк", "mixed 'заява / заявка': the glossary says 'заява'"),
    ("ru", r"заявк", "mixed 'заявление / заявка': the glossary says 'заявление'"),
    ("be", r"заяўк", "mixed 'заява / заяўка': the glossary says 'заява'"),
    ("uk", r"особов\w* дан|особист\w* дан", "mixed 'особисті / особові дані': the glossary says 'персональні дані'"),
    ("uk", r"[а-яіїєґ]'[а-яіїєґ]", "ASCII ' in Ukrainian: the apostrophe is ’"),
]


@dataclass(frozen=True)
class Term:
    english: str
    rendering: dict[str, str]


def _alternatives(cell: str) -> list[str]:
    cell = re.sub(r"\([^)]*\)", "", cell).replace("?", "")
    return [part.strip() for part in cell.split(" / ") if part.strip()]


def glossary_terms() -> list[Term]:
    terms = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(COLUMNS) or cells[0] in ("English", "") or set(cells[0]) <= {"-"}:
            continue
        english = _alternatives(cells[0])
        renderings = {lang: _alternatives(cell) for lang, cell in zip(COLUMNS[1:], cells[1:], strict=True)}
        for i, word in enumerate(english):
            paired = {
                lang: (alts[i] if len(alts) == len(english) else " ".join(alts)) for lang, alts in renderings.items()
            }
            terms.append(Term(word, paired))
    return terms


def _stems(rendering: str, language: str) -> list[tuple[str, ...]]:
    """For each significant word: the stems any of which a translation must contain."""
    stems = []
    for word in re.findall(r"[\w’'-]+", rendering.lower()):
        if len(word) <= 2:
            continue  # prepositions and conjunctions ("з", "по", "за")
        # Georgian endings are longer; a Slavic stem of at most 7 letters lets a verb match its noun
        # ("затвердити" / "затвердження") without letting another word in.
        cut = max(4, len(word) - 3) if language == "ka" else min(7, max(3, len(word) - 2))
        stems.append((word[:cut], *INFLECTIONS.get(word, ())))
    return stems


_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")
_SCOPE = re.compile(r"\(\?#([^)]*)\)")


def _language(path: Path) -> str:
    return path.parent.parent.name


def _where(path: Path) -> str:
    return str(path.relative_to(SRC))


def test_the_glossary_is_beside_the_checkout_and_has_its_terms() -> None:
    assert GLOSSARY.exists(), f"{GLOSSARY} is missing: shared/ must be beside the checkout"
    terms = {t.english for t in glossary_terms()}
    assert {"application", "vetting", "next of kin", "call sign", "receipt", "check your application"} <= terms
    assert CATALOGUES, "no catalogues found"


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=_where)
def test_every_glossary_term_is_rendered_as_the_glossary_says(catalogue: Path) -> None:
    language = _language(catalogue)
    wrong = []
    for term in glossary_terms():
        pattern = re.compile(rf"\b{re.escape(term.english)}s?\b", re.IGNORECASE)
        stems = _stems(term.rendering[language], language)
        for entry in read_po(catalogue):
            english = _PLACEHOLDER.sub(" ", entry.msgid + " " + entry.msgid_plural)
            if not entry.msgid or not pattern.search(english) or (term.english, entry.msgid) in EXCEPTIONS:
                continue
            for text in entry.msgstrs.values():
                lowered = text.lower()
                missing = [s[0] for s in stems if not any(stem in lowered for stem in s)]
                if missing:
                    wrong.append(f"{entry.msgid!r} → {text!r}: lacks {term.rendering[language]!r} ({term.english})")
    assert wrong == [], f"{_where(catalogue)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=_where)
def test_no_catalogue_keeps_a_rendering_the_review_found_wrong(catalogue: Path) -> None:
    language = _language(catalogue)
    found = []
    for entry in read_po(catalogue):
        if not entry.msgid:
            continue
        for text in entry.msgstrs.values():
            for lang, pattern, finding in FORBIDDEN:
                scope = _SCOPE.search(pattern)
                if scope and not re.search(scope.group(1), entry.msgid, re.IGNORECASE):
                    continue
                if lang == language and re.search(pattern, text, re.IGNORECASE):
                    found.append(f"{entry.msgid!r} → {text!r}: {finding}")
    assert found == [], f"{_where(catalogue)}:\n" + "\n".join(found)


def test_the_checks_would_catch_what_the_review_found() -> None:
    # The stems and patterns above are not vacuous: the review's own examples fail them.
    stems = _stems("раскрыть личные данные", "ru")
    assert not all(any(s in "распечатать личные данные" for s in group) for group in stems)
    assert any(re.search(p, "Я согласен на проверку", re.I) for lang, p, _f in FORBIDDEN if lang == "ru")
    assert any(re.search(p, "Зв'язок", re.I) for lang, p, _f in FORBIDDEN if lang == "uk")
    unseal = [p for lang, p, _f in FORBIDDEN if lang == "ru" and "unseal" in p]
    assert unseal and re.search(unseal[0], "Распечатать личные данные", re.I)
    assert _SCOPE.search(unseal[0]) and not re.search(_SCOPE.search(unseal[0]).group(1), "Copy a checkpoint", re.I)
    assert all(any(s in "вашу заяву отримано" for s in group) for group in _stems("заява", "uk"))
    assert all(any(s in "თქვენი ქვითრით" for s in group) for group in _stems("ქვითარი", "ka"))

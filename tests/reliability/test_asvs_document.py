"""docs/asvs.md stays true to itself: every ASVS 5.0.0 level 1 and 2 requirement has exactly one
line, the summary counts are the tables' counts, and every test it names exists."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "asvs.md"
# Level 1 + level 2 requirements per chapter in the official 5.0.0 list (L3-only ones left out).
PER_CHAPTER = {
    1: 27, 2: 11, 3: 19, 4: 10, 5: 9, 6: 35, 7: 18, 8: 7, 9: 7,
    10: 29, 11: 14, 12: 9, 13: 13, 14: 9, 15: 13, 16: 16, 17: 7,
}  # fmt: skip
STATUSES = ("met", "partly", "not met", "N/A")


def _rows() -> dict[str, str]:
    """Requirement id → status, from the tables and from the chapters listed as wholly N/A."""
    rows: dict[str, str] = {}
    text = DOC.read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| V") and len(cells) == 6 and re.fullmatch(r"V\d+\.\d+\.\d+", cells[0]):
            assert cells[0] not in rows, f"{cells[0]} has two lines"
            assert cells[3] in STATUSES, f"{cells[0]}: unknown status {cells[3]!r}"
            assert (cells[3] == "N/A") == cells[2].startswith("no"), f"{cells[0]}: applies and status disagree"
            rows[cells[0]] = cells[3]
    for chapter in ("V10", "V17"):
        section = text.split(f"## {chapter} ", 1)[1].split("\n## ", 1)[0]
        for ident in re.findall(rf"{chapter}\.\d+\.\d+", section):
            assert ident not in rows, f"{ident} has two lines"
            rows[ident] = "N/A"
    return rows


def _summary() -> dict[str, int]:
    text = DOC.read_text(encoding="utf-8").split("## Summary", 1)[1].split("\n## ", 1)[0]
    counts = {}
    for label, number in re.findall(r"^\| ([^|]+?) \| \*\*(\d+)\*\* \|$", text, flags=re.MULTILINE):
        counts[label.split(" (")[0]] = int(number)
    return counts


def test_every_level_one_and_two_requirement_has_exactly_one_line() -> None:
    by_chapter = Counter(int(ident[1:].split(".")[0]) for ident in _rows())
    assert dict(by_chapter) == PER_CHAPTER


def test_the_summary_counts_are_the_counts_of_the_tables() -> None:
    statuses = Counter(_rows().values())
    summary = _summary()
    assert summary["level 1 + level 2 requirements in ASVS 5.0.0"] == sum(PER_CHAPTER.values())
    assert summary["not applicable"] == statuses["N/A"]
    assert summary["apply"] == statuses["met"] + statuses["partly"] + statuses["not met"]
    assert (summary["met"], summary["partly met"], summary["not met"]) == (
        statuses["met"],
        statuses["partly"],
        statuses["not met"],
    )


def test_every_test_the_document_names_exists() -> None:
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", DOC.read_text(encoding="utf-8")))
    assert len(named) > 100
    missing = []
    for path, name in sorted(named):
        source = ROOT / path
        functions = (
            {node.name for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.FunctionDef)}
            if source.exists()
            else set()
        )
        if name not in functions:
            missing.append(f"{path}::{name}")
    assert missing == []

"""legionary import: JSONL per the contract, per-line errors, idempotent, exit 3 on rejects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from legionary.identity.models import Person
from legionary.vetting.models import Case
from tests.intake.helpers import application

pytestmark = pytest.mark.django_db(transaction=True)
SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dupes-sample.jsonl"


def run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, object], int]:
    try:
        call_command("import", str(path), "--json")
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return json.loads(capsys.readouterr().out), code


@pytest.mark.skipif(not SAMPLE.exists(), reason="the shared sample is not beside the checkout")
def test_the_sample_imports_with_duplicates_flagged_and_a_rerun_adds_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, code = run(SAMPLE, capsys)
    assert code == 0 and result["accepted"] == 234 and result["rejected"] == []
    assert isinstance(result["duplicates_flagged"], int) and result["duplicates_flagged"] > 0
    assert Person.objects.count() == 234 and Case.objects.count() == 234
    again, code = run(SAMPLE, capsys)
    assert code == 0 and again["accepted"] == 0 and again["already_imported"] == 234
    assert Person.objects.count() == 234


def test_malformed_lines_are_reported_with_line_numbers_and_the_good_ones_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps(application(external_ref="ok-1")),
        "{not json",
        json.dumps(application(external_ref="bad-date", identity__date_of_birth="2001-13-01")),
        "",
        json.dumps(application(external_ref="ok-2", identity__documents=[])),
        "[" * 50_000 + "]" * 50_000,
        json.dumps(application(external_ref="nul", identity__given_names="a\u0000b")),
        "x" * (600 * 1024),
        json.dumps(application(external_ref="ok-3", identity__documents=[], identity__phone=None)),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, code = run(path, capsys)
    assert code == 3
    assert result["accepted"] == 3
    rejected = {item["line"]: item["error"] for item in result["rejected"]}  # type: ignore[attr-defined]
    assert set(rejected) == {2, 3, 6, 7, 8}
    assert rejected[3] == "identity.date_of_birth: not a real date"
    assert "NUL" in rejected[7] and "a\u0000b" not in rejected[7]
    assert set(Person.objects.values_list("external_ref", flat=True)) == {"ok-1", "ok-2", "ok-3"}


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("import", str(tmp_path / "nope.jsonl"))
    assert caught.value.returncode == 2

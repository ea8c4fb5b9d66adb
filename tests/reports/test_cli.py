"""``legionary report pipeline``: the dashboard's figures for the whole system, small numbers hidden unless --exact."""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from legionary.audit.models import Entry
from tests.reports.conftest import World

pytestmark = pytest.mark.django_db


def _report(*args: str) -> tuple[int, str, str]:
    out = io.StringIO()
    try:
        call_command("report", "pipeline", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), ""


def _json(*args: str) -> dict[str, Any]:
    code, out, err = _report("--json", *args)
    assert code == 0, err
    return dict(json.loads(out))


def test_the_json_report_counts_the_whole_system_with_small_numbers_hidden(world: World) -> None:
    document = _json()
    assert document["scope"] == "system" and document["exact"] is False and document["threshold"] == 5
    received = {
        r["legion"]: r["reached_received"] for r in document["tables"]["funnel_by_legion"] if r["month"] == "All months"
    }
    by_legion = Counter(s.legion for s in world.specs)
    assert received["Freedom of Russia Legion"] == by_legion["frl"]
    assert received["Georgian Legion"] == by_legion["geo"]
    assert received["International Legion"] == "< 5"  # one earlier applicant
    assert not Entry.objects.filter(action="reports.exact_printed").exists()


def test_exact_figures_are_shown_only_with_exact_and_that_is_audited(world: World) -> None:
    document = _json("--exact")
    received = {
        r["legion"]: r["reached_received"] for r in document["tables"]["funnel_by_legion"] if r["month"] == "All months"
    }
    assert received["International Legion"] == 1
    assert "< 5" not in json.dumps(document)
    entry = Entry.objects.get(action="reports.exact_printed")
    assert entry.actor == "cli"
    assert json.loads(bytes(entry.body))["details"]["report"] == "pipeline"


def test_legion_and_since_narrow_the_figures(world: World) -> None:
    document = _json("--exact", "--legion", "frl", "--since", "2026-02-01")
    funnel = document["tables"]["funnel"]
    expected = sum(1 for s in world.specs if s.legion == "frl" and s.month >= "2026-02")
    assert funnel[0]["reached"] == expected
    assert document["period"] == {"legion": "frl", "since": "2026-02-01", "until": None}


def test_the_text_report_prints_every_table_with_the_protection_note(world: World) -> None:
    code, out, _err = _report()
    assert code == 0
    assert 'Counts from 1 to 4 are shown as "< 5".' in out
    assert "Time spent in each stage, in days" in out and "Unit strength against billets" in out


def test_a_bad_date_or_legion_is_a_usage_error(world: World) -> None:
    assert _report("--since", "yesterday")[0] == 2
    assert _report("--legion", "atlantis")[0] == 2
    assert _report("--since", "2026-03-01", "--until", "2026-02-01")[0] == 2

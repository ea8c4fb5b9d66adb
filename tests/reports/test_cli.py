"""``legionary report pipeline``: the dashboard's figures for the whole system, small numbers hidden unless --exact."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from legionary.audit.models import Entry
from tests.core.instance import fresh_database, legionary_env, run_legionary, start_from_migrated
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
    assert entry.actor.startswith("cli:") and len(entry.actor) > len("cli:")
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


# --- report refresh, and which way pipeline reads --------------------------------------------------------


def test_refresh_counts_a_rollup_that_pipeline_then_reads_and_says_so(world: World) -> None:
    live = _json("--exact")
    assert live["source"] == {"kind": "live", "as_of": None}
    out = io.StringIO()
    call_command("report", "refresh", stdout=out)
    assert re.search(r"Counted \d+ people into \d+ rows", out.getvalue())
    rolled = _json("--exact")
    assert rolled["source"]["kind"] == "rollup" and rolled["source"]["as_of"]
    assert rolled["tables"]["funnel"] == live["tables"]["funnel"]
    assert _json("--exact", "--live")["source"]["kind"] == "live"
    code, text, _err = _report()
    assert code == 0 and "Figures as of" in text and "legionary report refresh" in text


def test_refresh_with_if_older_than_skips_while_the_rollup_is_recent(world: World) -> None:
    first = io.StringIO()
    call_command("report", "refresh", "--json", "--if-older-than", "60", stdout=first)
    made = json.loads(first.getvalue())
    assert made["refreshed"] is True and made["people"] == len(world.specs)
    again = io.StringIO()
    call_command("report", "refresh", "--json", "--if-older-than", "60", stdout=again)
    assert json.loads(again.getvalue()) == {"refreshed": False, "as_of": made["as_of"]}
    forced = io.StringIO()
    call_command("report", "refresh", "--json", "--if-older-than", "0", stdout=forced)
    assert json.loads(forced.getvalue())["refreshed"] is True


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of one initialised instance, run as a user runs ``legionary``."""
    with fresh_database(migrated=True) as database_url:
        env = legionary_env(tmp_path_factory.mktemp("report") / "home", database_url)
        start_from_migrated(env)
        done = run_legionary(env, "init")
        assert done.returncode == 0, done.stderr
        yield env


def test_refresh_of_an_empty_instance_as_a_user_runs_it(initialised: dict[str, str]) -> None:
    result = run_legionary(initialised, "report", "refresh", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["people"] == 0
    shown = run_legionary(initialised, "report", "pipeline", "--json")
    assert json.loads(shown.stdout)["source"]["kind"] == "rollup"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--if-older-than", "soon"], "--if-older-than takes a whole number of minutes"),
        (["--if-older-than", "-5"], "--if-older-than takes a whole number of minutes"),
        (["frl"], "unrecognized arguments: frl"),
        (["--since", "2026-01-01"], "unrecognized arguments: --since"),
    ],
)
def test_refresh_rejects_bad_arguments_with_exit_2_and_a_clear_message(
    initialised: dict[str, str], args: list[str], message: str
) -> None:
    result = run_legionary(initialised, "report", "refresh", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""

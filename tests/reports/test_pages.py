"""The dashboard page, its charts and the people list: scope, small-number protection, accessibility, CSP."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from legionary.access.models import Staff
from legionary.identity.services import Actor, person_create
from legionary.reports.tables import Protection
from tests.conftest import MakeStaff, signed_in
from tests.reports.conftest import World

pytestmark = pytest.mark.django_db

# Stages whose "at this stage now" count is one status (assigned also counts the serving statuses).
LABELS = {
    "received": "Application received",
    "in_vetting": "In vetting",
    "approved": "Approved",
    "denied": "Denied",
    "in_training": "In training",
    "trained": "Trained",
}
SECTIONS = ("funnel", "durations", "overdue", "flags", "denials", "cohorts", "strength")


def _table(html: str, table_id: str) -> str:
    found = re.search(rf'<table class="govuk-table[^"]*" id="table-{table_id}">(.*?)</table>', html, re.S)
    assert found is not None, table_id
    return found.group(1)


def _svg(html: str, table_id: str) -> str:
    found = re.search(rf'<svg [^>]*id="chart-{table_id}".*?</svg>', html, re.S)
    assert found is not None, table_id
    return found.group(0)


def _row(table_html: str, label: str) -> list[str]:
    row = rf'<tr class="govuk-table__row"><th scope="row" class="govuk-table__header">{re.escape(label)}</th>(.*?)</tr>'
    found = re.search(row, table_html, re.S)
    assert found is not None, label
    return re.findall(r"<td[^>]*>(.*?)</td>", found.group(1))


def test_the_dashboard_has_every_section_under_a_stable_id(world: World, viewers: dict[str, Staff]) -> None:
    html = signed_in(viewers["exact"]).get("/reports/", secure=True).content.decode()
    for section in SECTIONS:
        assert f'id="section-{section}"' in html
    assert 'id="reports-filter"' in html and 'id="summary-pdf"' in html


def test_every_chart_is_an_accessible_image_with_a_data_table_and_no_inline_style(
    world: World, viewers: dict[str, Staff]
) -> None:
    html = signed_in(viewers["exact"]).get("/reports/", secure=True).content.decode()
    charts = re.findall(r'<svg [^>]*id="chart-([a-z_]+)"', html)
    assert set(charts) >= {
        "funnel",
        "funnel_by_month",
        "durations",
        "overdue",
        "flags",
        "denials",
        "cohorts",
        "strength",
    }
    for chart in charts:
        svg = _svg(html, chart)
        assert 'role="img"' in svg
        assert re.search(rf'<title id="chart-{chart}-title">[^<]+</title>', svg)
        assert f'id="table-{chart}"' in html
    assert "style=" not in html and "<style" not in html
    # No inline script: the one script is the design system's static module (staff_base.html).
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/static/legionary/init.js">']


def test_a_viewer_without_unseal_rights_sees_small_counts_as_below_the_threshold(
    world: World, viewers: dict[str, Staff]
) -> None:
    html = signed_in(viewers["protected"]).get("/reports/", secure=True).content.decode()
    at_stage = Counter(s.status for s in world.specs)
    small = [(label, at_stage[status]) for status, label in LABELS.items() if 0 < at_stage[status] < 5]
    large = [(label, at_stage[status]) for status, label in LABELS.items() if at_stage[status] >= 5]
    assert small and large  # the world has both: this test relies on it
    for label, _n in small:
        assert _row(_table(html, "funnel"), label)[1] == "&lt; 5"
    for label, n in large:
        assert _row(_table(html, "funnel"), label)[1] == str(n)
    # The chart shows the same text, and draws a bar only for a shown, non-zero count: a hidden
    # count's bar length would give the number away.
    svg = _svg(html, "funnel")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", _table(html, "funnel"))
    bars = re.findall(r'<rect [^>]*height="14" fill=', svg)  # bars, not the legend's 12-high swatches
    assert len(bars) == sum(1 for cell in cells if cell.isdigit() and cell != "0")
    assert svg.count("&lt; 5") == cells.count("&lt; 5") > 0


def test_a_viewer_with_unseal_rights_sees_exact_counts(world: World, viewers: dict[str, Staff]) -> None:
    html = signed_in(viewers["exact"]).get("/reports/", secure=True).content.decode()
    at_stage = Counter(s.status for s in world.specs)
    for status, label in LABELS.items():
        assert _row(_table(html, "funnel"), label)[1] == str(at_stage[status])
    assert "&lt; 5" not in html


def test_the_threshold_comes_from_the_setting(world: World, viewers: dict[str, Staff], settings: object) -> None:
    settings.LEGIONARY_SMALL_NUMBER_THRESHOLD = 3  # type: ignore[attr-defined]
    assert Protection(exact=False).count(2).text == "< 3"
    assert Protection(exact=False).count(3).text == "3"
    assert Protection(exact=False).count(0).text == "0"
    html = signed_in(viewers["protected"]).get("/reports/", secure=True).content.decode()
    assert "&lt; 3" in html and "&lt; 5" not in html


def test_a_legion_scoped_viewer_sees_no_other_legion_on_the_page(world: World, viewers: dict[str, Staff]) -> None:
    html = signed_in(viewers["geo"]).get("/reports/", secure=True).content.decode()
    assert "Georgian Legion" in html
    assert "Freedom of Russia Legion" not in html.split('id="section-funnel"')[1]


def test_the_dashboard_costs_the_same_queries_whatever_the_number_of_people(
    world: World, viewers: dict[str, Staff]
) -> None:
    client = signed_in(viewers["protected"])
    client.get("/reports/", secure=True)
    with CaptureQueriesContext(connection) as before:
        assert client.get("/reports/", secure=True).status_code == 200
    for n in range(12):
        person_create(
            identity={"given_names": "More", "family_name": f"People{n}", "date_of_birth": "1991-01-01"},
            legion=("frl", "geo", "intl")[n % 3],
            actor=Actor("test"),
        )
    with CaptureQueriesContext(connection) as after:
        assert client.get("/reports/", secure=True).status_code == 200
    assert len(after) == len(before)
    assert len(before) < 30


def test_the_people_list_shows_call_signs_in_scope_with_the_filters_applied(
    world: World, viewers: dict[str, Staff]
) -> None:
    client = signed_in(viewers["geo"])
    html = client.get("/reports/people/", {"status": "denied"}, secure=True).content.decode()
    expected = sorted(s.call_sign for s in world.specs if s.legion == "geo" and s.status == "denied")
    listed = re.findall(
        r'<tr class="govuk-table__row" id="person-[^"]+">'
        r'<th class="govuk-table__header" scope="row"><bdi>([^<]+)</bdi></th>',
        html,
    )
    assert sorted(listed) == expected
    all_geo = client.get("/reports/people/", secure=True).content.decode()
    assert "Rep001" not in all_geo  # frl


def test_staff_without_the_reports_permission_are_refused(make_staff: MakeStaff, world: World) -> None:
    from legionary.access.roles import Role

    client = signed_in(make_staff("teacher", Role.INSTRUCTOR))
    for path in ("/reports/", "/reports/people/", "/reports/people.csv", "/reports/summary.pdf"):
        assert client.get(path, secure=True).status_code == 403


def test_a_long_table_shows_its_first_rows_on_the_page_and_all_of_them_in_its_export(
    world: World, viewers: dict[str, Staff], settings: object
) -> None:
    settings.LEGIONARY_REPORT_PAGE_ROWS = 3  # type: ignore[attr-defined]
    client = signed_in(viewers["exact"])
    html = client.get("/reports/", secure=True).content.decode()
    exported = client.get("/reports/tables/funnel_by_legion.csv", secure=True).content.decode().splitlines()
    total = len(exported) - 1  # the header
    assert total > 3
    shown = re.findall(r'<tr class="govuk-table__row"><th scope="row"', _table(html, "funnel_by_legion"))
    assert len(shown) == 3
    assert re.search(rf'<span id="more-funnel_by_legion">{total - 3} more rows are in the exports.</span>', html)
    # The chart is drawn from the shown rows: seven stages, three shown, two bars each at most.
    assert 'id="more-funnel">4 more rows' in html
    assert 0 < len(re.findall(r'<rect [^>]*height="14" fill=', _svg(html, "funnel"))) <= 6


def test_the_cohort_table_is_built_for_the_page_with_its_first_rows_and_exported_whole(
    world: World, viewers: dict[str, Staff], settings: object
) -> None:
    settings.LEGIONARY_REPORT_PAGE_ROWS = 1  # type: ignore[attr-defined]
    client = signed_in(viewers["exact"])
    html = client.get("/reports/", secure=True).content.decode()
    assert len(re.findall(r'<tr class="govuk-table__row"><th scope="row"', _table(html, "cohorts"))) == 1
    assert '<span id="more-cohorts">1 more row is in the exports.</span>' in html
    exported = client.get("/reports/tables/cohorts.csv", secure=True).content.decode().splitlines()
    assert len(exported) == 1 + 2  # the header and both cohorts


def test_a_table_body_escapes_every_text_and_marks_hidden_counts() -> None:
    """The dashboard's rows are written in Python (reports.views.table_body), not by the template
    engine: a cohort's or a unit's name is staff-typed text and must come out escaped."""
    from legionary.reports.tables import Cell, Column, Table
    from legionary.reports.views import table_body

    table = Table(
        id="t",
        title="T",
        columns=[Column("name", "Name"), Column("n", "N", numeric=True), Column("m", "M", numeric=True)],
        rows=[[Cell("<b>Ops & co</b>"), Cell("12", 12), Cell("< 5", None, hidden=True)]],
    )
    assert str(table_body(table)) == (
        '<tr class="govuk-table__row"><th scope="row" class="govuk-table__header">&lt;b&gt;Ops &amp; co&lt;/b&gt;</th>'
        '<td class="govuk-table__cell govuk-table__cell--numeric">12</td>'
        '<td class="govuk-table__cell govuk-table__cell--numeric hidden-count">&lt; 5</td></tr>'
    )
    assert str(table_body(dataclasses.replace(table, rows=[]))) == ""

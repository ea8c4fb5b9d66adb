"""Template helpers of the units pages: a roster's lines, the people list's rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from legionary.identity.models import PersonStatus
from legionary.units.selectors import RosterLine

register = template.Library()


@register.simple_tag
def roster_lines(
    lines: list[RosterLine], person_base: str, vacant: str, fill: str = "", fill_base: str = ""
) -> SafeString:
    """A roster page's rows, one per billet: ``<tr id="billet-<id>">`` (with ``data-person="<id>"`` when
    filled) holding the billet's unit, role and title, the qualifications it requires, its holder's
    call sign (a link to his record) or ``vacant`` (with a ``fill`` link to the billet's assignment
    page at ``fill_base<id>/assign`` when given: staff who may assign), his status and what he lacks.

    Drawn here rather than by template nodes: a page has 200 lines, which took the template language
    most of the page's time. Safe by construction: every text is escaped here, the rest are integers.
    """
    base = escape(person_base)
    vacant_cell = f'<strong class="govuk-tag govuk-tag--yellow" data-state="vacant">{escape(vacant)}</strong>'
    statuses = {value: escape(str(label)) for value, label in PersonStatus.choices}
    cell = '<td class="govuk-table__cell">'
    rows = []
    for line in lines:
        title = f"{escape(line.role_label)} — {escape(line.title)}" if line.title else escape(line.role_label)
        if line.person_id:
            person = escape(line.person_id)
            opening = f'<tr class="govuk-table__row" id="billet-{int(line.billet_id)}" data-person="{person}">'
            holder = f'<a class="govuk-link" href="{base}{person}/"><bdi>{escape(line.call_sign)}</bdi></a>'
        else:
            opening, holder = f'<tr class="govuk-table__row" id="billet-{int(line.billet_id)}">', vacant_cell
            if fill_base:
                billet = int(line.billet_id)
                holder += (
                    f' <a class="govuk-link" id="fill-{billet}" href="{escape(fill_base)}{billet}/assign"'
                    f' aria-label="{escape(fill)}: {title}">{escape(fill)}</a>'
                )
        lacking = (
            f'<strong class="govuk-tag govuk-tag--orange">{escape(", ".join(line.lacking))}</strong>'
            if line.lacking
            else "—"
        )
        status = statuses.get(line.status, escape(line.status)) if line.status else "—"
        rows.append(
            f'{opening}{cell}{escape(line.unit_name)}</td><th scope="row" class="govuk-table__header">{title}</th>'
            f"{cell}{escape(', '.join(line.required) or '—')}</td>{cell}{holder}</td>"
            f"{cell}{status}</td>{cell}{lacking}</td></tr>\n"
        )
    return mark_safe("".join(rows))  # noqa: S308 — built above from escaped text and integers only


@register.simple_tag
def people_rows(people: Iterable[tuple[Any, str, str]], person_base: str) -> SafeString:
    """The people list's rows: ``<tr id="person-<id>">`` with the call sign (isolated, a link to the
    person's record at ``person_base<id>/``) over the pseudonymous id, the status label and the name
    of the unit of his latest assignment (or "—": ``people`` holds "" for none).

    Written here rather than by template nodes (a ``{% url %}`` and three cells per row, 50 rows a
    page); the same markup. Safe by construction: every text is escaped here.
    """
    base = escape(person_base)
    cell = '<td class="govuk-table__cell">'
    rows = []
    for person, unit_name, status in people:
        pk = escape(person.pk)
        link = quote(str(person.pk), safe="")
        call_sign = f"<bdi>{escape(person.call_sign)}</bdi>" if person.call_sign else ""
        unit = escape(unit_name) if unit_name else "—"
        rows.append(
            f'  <tr class="govuk-table__row" id="person-{pk}">\n'
            f'    {cell}<a class="govuk-link" href="{base}{link}/">{call_sign}</a>'
            f'<br><code class="app-break-word">{pk}</code></td>\n'
            f"    {cell}{escape(status)}</td>\n"
            f"    {cell}{unit}</td>\n"
            "  </tr>\n"
        )
    return mark_safe("".join(rows))  # noqa: S308 — built above from escaped text only

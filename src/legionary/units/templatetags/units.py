"""Template helpers of the units pages: a roster's lines."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from legionary.units.selectors import RosterLine

register = template.Library()


@register.simple_tag
def roster_lines(lines: list[RosterLine], person_base: str, vacant: str) -> SafeString:
    """A roster page's rows, one per billet: ``<tr id="billet-<id>">`` (with ``data-person="<id>"`` when
    filled) holding the billet's unit, role and title, the qualifications it requires, its holder's
    call sign (a link to his record) or ``vacant``, his status and what he lacks.

    Drawn here rather than by template nodes: a page has 200 lines, which took the template language
    most of the page's time. Safe by construction: every text is escaped here, the rest are integers.
    """
    base, vacant_cell = escape(person_base), f"<em>{escape(vacant)}</em>"
    rows = []
    for line in lines:
        title = f"{escape(line.role_label)} — {escape(line.title)}" if line.title else escape(line.role_label)
        if line.person_id:
            person = escape(line.person_id)
            opening = f'<tr id="billet-{int(line.billet_id)}" data-person="{person}">'
            holder = f'<a href="{base}{person}/">{escape(line.call_sign)}</a>'
        else:
            opening, holder = f'<tr id="billet-{int(line.billet_id)}">', vacant_cell
        lacking = f"<strong>{escape(', '.join(line.lacking))}</strong>" if line.lacking else "—"
        rows.append(
            f'{opening}<td>{escape(line.unit_name)}</td><th scope="row">{title}</th>'
            f"<td>{escape(', '.join(line.required) or '—')}</td><td>{holder}</td>"
            f"<td>{escape(line.status or '—')}</td><td>{lacking}</td></tr>\n"
        )
    return mark_safe("".join(rows))  # noqa: S308 — built above from escaped text and integers only

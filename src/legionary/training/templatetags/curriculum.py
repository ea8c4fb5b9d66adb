"""Names in the reader's language: ``{{ module.name|shown }}`` (``training.names``), ``{{ cohort.legion|legion }}``;
the cohort list's rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.template.defaultfilters import date
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from legionary.intake.legions import KNOWN_LEGIONS
from legionary.training.names import shown as _shown

register = template.Library()


@register.filter
def shown(name: str) -> str:
    return _shown(str(name))


@register.filter
def legion(slug: str) -> str:
    """A legion's name in the reader's language (``frl`` → Freedom of Russia Legion); an unknown slug as is."""
    return str(KNOWN_LEGIONS.get(str(slug), slug))


@register.simple_tag
def cohort_rows(cohorts: Iterable[Any], cohort_base: str) -> SafeString:
    """The cohort list's rows: ``<tr id="cohort-<id>">`` with the cohort's name (a link to it at
    ``cohort_base<id>/``), its course (in the reader's language), legion, start date, training site
    and lead instructor (or "—").

    Written here rather than by template nodes (a ``{% url %}`` and six cells per row, 50 rows a
    page); the same markup. Safe by construction: every text is escaped here, the rest are integers.
    """
    base = escape(cohort_base)
    cell = '<td class="govuk-table__cell">'
    rows = []
    for cohort in cohorts:
        pk = int(cohort.pk)
        lead = cohort.lead.get_username() if cohort.lead_id else ""
        rows.append(
            f'  <tr class="govuk-table__row" id="cohort-{pk}"><th class="govuk-table__header" scope="row">'
            f'<a class="govuk-link" href="{base}{pk}/">{escape(cohort.name)}</a></th>'
            f"{cell}{escape(shown(cohort.course.name))}</td>{cell}{escape(legion(cohort.legion))}</td>"
            f"{cell}{escape(date(cohort.start_date, 'DATE_FORMAT'))}</td>{cell}{escape(cohort.site)}</td>"
            f"{cell}{escape(lead or '—')}</td></tr>\n"
        )
    return mark_safe("".join(rows))  # noqa: S308 — built above from escaped text and integers only

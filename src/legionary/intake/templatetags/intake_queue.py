"""The intake queue's rows, written in Python: the same markup the template wrote, at a fraction of
the template language's cost (a page has up to 50 rows of six cells each)."""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Any

from django import template
from django.template.defaultfilters import date
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from legionary.vetting.templatetags.vetting_display import channel_name, legion_name

register = template.Library()


@register.simple_tag
def queue_rows(cases: Iterable[Any], chosen: Set[int], case_base: str) -> SafeString:
    """One ``<tr id="case-<id>">`` per case: a checkbox to select it (``select-first`` on the first row,
    ``select-<id>`` on the others; ticked when in ``chosen``), its call sign (a link to the case at
    ``case_base<id>/``, isolated) and pseudonymous id, legion, when and how it arrived, and what
    screening found (the ids of the records it may match).

    Safe by construction: every text is escaped here, the rest are integers.
    """
    base = escape(case_base)
    cell = '<td class="govuk-table__cell">'
    possible = escape(_("Possible match"))
    no_match = f'<strong class="govuk-tag govuk-tag--grey">{escape(_("No match"))}</strong>'
    rows = []
    for n, case in enumerate(cases):
        pk = int(case.pk)
        box = "select-first" if n == 0 else f"select-{pk}"
        call_sign = f"<bdi>{escape(case.person.call_sign)}</bdi>" if case.person.call_sign else ""
        select = escape(_("Select %(call_sign)s") % {"call_sign": case.person.call_sign})
        checked = " checked" if pk in chosen else ""
        received = localtime(case.created_at)  # as the template shows an aware datetime: in the reader's zone
        if case.flagged:
            matched = "".join(
                f'<li><code class="app-break-word">{escape(flag.matched_person_id)}</code></li>'
                for flag in case.flags.all()
            )
            screening = (
                f'<strong class="govuk-tag govuk-tag--red">{possible}</strong>\n'
                f'      <ul class="govuk-list govuk-body-s">{matched}</ul>\n      '
            )
        else:
            screening = no_match
        rows.append(
            f'  <tr class="govuk-table__row" id="case-{pk}">\n'
            f"    {cell}\n"
            '      <div class="govuk-checkboxes govuk-checkboxes--small" data-module="govuk-checkboxes">'
            '<div class="govuk-checkboxes__item">\n'
            f'        <input class="govuk-checkboxes__input" id="{box}" name="case" type="checkbox"'
            f' value="{pk}"{checked}>\n'
            f'        <label class="govuk-label govuk-checkboxes__label" for="{box}">'
            f'<span class="govuk-visually-hidden">{select}</span></label>\n'
            "      </div></div>\n"
            "    </td>\n"
            f'    {cell}<a class="govuk-link" id="case-link-{pk}" href="{base}{pk}/">{call_sign}</a>'
            f'<br><code class="app-break-word">{escape(case.person.id)}</code></td>\n'
            f"    {cell}{escape(legion_name(case.legion))}</td>\n"
            f'    {cell}<time datetime="{escape(date(received, "c"))}">'
            f"{escape(date(received, 'SHORT_DATETIME_FORMAT'))}</time></td>\n"
            f"    {cell}{escape(channel_name(case.channel))}</td>\n"
            f"    {cell}{screening}</td>\n"
            "  </tr>\n"
        )
    return mark_safe("".join(rows))  # noqa: S308 — built above from escaped text and integers only

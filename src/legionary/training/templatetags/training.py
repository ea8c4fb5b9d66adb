"""Template helpers of the training pages: the gradebook's rows, the grid's input names, reading a submitted
value back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from legionary.training.forms import score_field
from legionary.training.models import EnrolmentState
from legionary.training.selectors import RISK_ATTENDANCE, RISK_FAILED, Row

register = template.Library()


@register.simple_tag
def score_name(enrolment_id: int, assessment_id: int) -> str:
    return score_field(enrolment_id, assessment_id)


@register.filter
def get_item(mapping: Mapping[str, Any] | None, key: str) -> Any:
    """A submitted value, so a grid sent back with errors keeps what the instructor typed."""
    return None if not mapping else mapping.get(key)


@register.simple_tag
def gradebook_words() -> dict[str, str]:
    """The words of the gradebook's rows, translated and escaped once per page (rows repeat them)."""
    return {
        "failed": f'<strong class="govuk-tag govuk-tag--red">{escape(gettext("failed"))}</strong>',
        "entered": escape(gettext("passed, awaiting sign-off")),
        "instructor-signed": escape(gettext("passed, awaiting the lead")),
        "signed-off": escape(gettext("passed, signed off")),
        "attempt": escape(gettext("attempt")),
        RISK_FAILED: escape(gettext("failed assessment")),
        RISK_ATTENDANCE: escape(gettext("low attendance")),
    }


@register.simple_tag
def gradebook_row(row: Row, words: dict[str, str], modules: int, person_base: str, result_base: str) -> SafeString:
    """One person's gradebook row (``<tr id="person-<enrolment>">``): call sign (a link to the person),
    attendance, modules passed (✓ when the course is completed), risks, then a cell per assessment:
    ``<td id="cell-<enrolment>-<assessment>" data-state="<state>">`` with the latest score (a link to
    the result), its state and the attempt of a retake, or a dash.

    Drawn here rather than by template nodes: a cohort of 120 has 1,560 cells and 120 rows, which
    took the template language most of the page's time. Safe by construction: every text is
    escaped (the words by ``gradebook_words``), the rest are integers and the fixed state names.
    """
    enrolment = row.enrolment
    person = enrolment.person
    number = int(enrolment.pk)
    attendance = "—" if row.attendance_percent is None else f"{int(row.attendance_percent)}%"
    completed = " ✓" if enrolment.state == EnrolmentState.COMPLETED else ""
    risks = (
        f'<strong class="govuk-tag govuk-tag--orange">{", ".join(words[risk] for risk in row.risks)}</strong>'
        if row.risks
        else "—"
    )
    base = escape(result_base)
    cell = '<td class="govuk-table__cell">'
    parts = [
        f'<tr class="govuk-table__row" id="person-{number}"><th scope="row" class="govuk-table__header">'
        f'<a class="govuk-link" href="{escape(person_base)}{escape(person.id)}/">'
        f"<bdi>{escape(person.call_sign)}</bdi></a>"
        f"</th>{cell}{attendance}</td>{cell}{int(row.modules_passed)}/{int(modules)}{completed}</td>{cell}{risks}</td>"
    ]
    for cell_ in row.cells:
        state = cell_.state
        if cell_.result is None:
            inner = "—"
        else:
            link = f'<a class="govuk-link" href="{base}{int(cell_.result.pk)}/">'
            inner = f"{link}{int(cell_.result.score)}</a> {words[state]}"
            if cell_.attempts > 1:
                attempt = f"({words['attempt']} {int(cell_.attempts)})"
                inner += f' <span class="govuk-hint govuk-!-display-inline">{attempt}</span>'
        parts.append(
            f'<td class="govuk-table__cell" id="cell-{number}-{int(cell_.assessment.pk)}" data-state="{state}">'
            f"{inner}</td>"
        )
    parts.append("</tr>")
    return mark_safe("".join(parts))  # noqa: S308 — built above from escaped text and integers only

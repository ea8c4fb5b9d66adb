"""Template filters for vetting and intake staff pages: legion names, state tags, check names.

Plain values in, escaped HTML out (``format_html`` escapes every value), so nothing here can be used
to inject markup. Applicant-supplied text is isolated with the shared ``ui.isolate`` filter.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from legionary.core.templatetags.ui import tag_colour
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.vetting.models import CaseState

register = template.Library()

_LABELS = dict(CaseState.choices)


@register.filter
def legion_name(slug: str) -> str:
    """The legion's name in the reader's language (the slug itself for a legion we do not know)."""
    name = KNOWN_LEGIONS.get(slug)
    return str(name) if name is not None else slug


@register.filter
def state_tag(state: str) -> SafeString:
    """A case state as a GOV.UK tag, coloured by what it means for the reader."""
    colour = tag_colour(state)
    return format_html(
        '<strong class="govuk-tag {}" data-state="{}">{}</strong>', colour, state, _LABELS.get(state, state)
    )


_CHANNELS = {"form": _("Web form"), "api": _("API"), "import": _("Bulk import")}


@register.filter
def channel_name(channel: str) -> str:
    """How an application arrived, in the reader's language."""
    name = _CHANNELS.get(channel)
    return str(name) if name is not None else channel


@register.filter
def kept_value(kept: object, name: str) -> str:
    """The value typed in field ``name`` of a form shown again after an error ("" when none)."""
    if isinstance(kept, dict):
        return str(kept.get(name, ""))
    return ""


@register.simple_tag
def form_id(prefix: str, pk: object) -> str:
    """``prefix`` and an id joined, for comparing with the form an error belongs to."""
    return f"{prefix}{pk}"

"""Template helpers shared by every page: ``{% load ui %}``.

- ``{{ value|isolate }}`` wraps applicant-supplied text in ``<bdi>`` so a right-to-left override or
  mixed-direction text cannot change how the rest of the line reads (issue 17 item 6).
- ``{{ state|tag_colour }}`` maps one of our states to a GOV.UK tag colour modifier
  (``components/tag.html`` uses it); ``{% govuk_tag state text %}`` is that tag without an include.
- ``{% public_languages as languages %}``: the five public languages as (code, name in itself).
"""

from __future__ import annotations

import functools

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# Our states → GOV.UK tag colour. Colour is never the only signal: the tag's text names the state.
# Grey: waiting; blue/teal: being worked on; green: done well; red: refused or late; orange/yellow:
# needs attention; purple: escalated to someone else.
TAG_COLOURS: dict[str, str] = {
    # applications and vetting cases
    "received": "grey",
    "new": "grey",
    "in_review": "teal",
    "awaiting_decision": "yellow",
    "flagged": "orange",
    "approved": "green",
    "denied": "red",
    "deferred": "yellow",
    "appealed": "purple",
    "escalated": "purple",
    "withdrawn": "grey",
    "erased": "grey",
    # checks and findings
    "open": "teal",
    "assigned": "teal",
    "done": "green",
    "clear": "green",
    "concern": "orange",
    "disqualifying": "red",
    "could_not_complete": "grey",
    "overdue": "red",
    # training
    "active": "teal",
    "passed": "green",
    "failed": "red",
    "signed_off": "green",
    "completed": "green",
    "at_risk": "orange",
    "expiring": "yellow",
    "expired": "red",
    "valid": "green",
    # units and people
    "vacant": "yellow",
    "filled": "green",
    "deceased": "grey",
    "discharged": "grey",
}


@register.filter
def tag_colour(state: object) -> str:
    """The GOV.UK tag modifier class for a state (``govuk-tag--grey`` for an unknown one)."""
    return f"govuk-tag--{TAG_COLOURS.get(str(state), 'grey')}"


@register.simple_tag
def govuk_tag(state: object, text: object) -> SafeString:
    """``{% govuk_tag state text %}``: what ``components/tag.html`` renders, without an include
    (about 25 µs less a tag: My work and the shared table show one per row)."""
    return format_html('<strong class="govuk-tag {}" data-state="{}">{}</strong>', tag_colour(state), state, text)


@register.filter
def isolate(value: object) -> SafeString:
    """Applicant-supplied text, escaped and isolated from the surrounding text direction."""
    if value is None or value == "":
        return SafeString("")
    return format_html("<bdi>{}</bdi>", value)


@register.simple_tag
def public_languages() -> list[tuple[str, str]]:
    """The public pages' languages, each named in itself, in the order the switch shows them."""
    from legionary.intake.views import PUBLIC_LANGUAGES

    return list(PUBLIC_LANGUAGES)


@register.simple_tag(takes_context=True)
def staff_language_links(context: template.Context) -> list[dict[str, object]]:
    """Links of the staff language switch: each sets the language cookie and comes back here."""
    from urllib.parse import urlencode

    from django.conf import settings
    from django.urls import get_script_prefix
    from django.utils.translation import get_language

    request = context.get("request")
    here = urlencode({"next": request.get_full_path() if request is not None else "/"})
    current = get_language()
    return [
        {"code": code, "name": name, "href": f"{base}?{here}" if base else "", "current": code == current}
        for code, name, base in _staff_languages(get_script_prefix(), str(settings.ROOT_URLCONF))
    ]


@functools.lru_cache(maxsize=64)
def _staff_languages(_prefix: str, _urlconf: str) -> tuple[tuple[str, str, str], ...]:
    """(code, name in itself, switch URL or "") of the staff languages: the same on every page."""
    from django.conf import settings
    from django.urls import NoReverseMatch, reverse
    from django.utils.translation import get_language_info

    out = []
    for code, _name in settings.LANGUAGES:
        try:
            base = reverse("switch-language", args=[code])
        except NoReverseMatch:  # an error page rendered under another URL configuration
            base = ""
        out.append((code, str(get_language_info(code)["name_local"]), base))
    return tuple(out)


@register.simple_tag
def public_language_links(lang: str) -> list[dict[str, object]]:
    """Links of the public language switch: ``?lang=CODE`` on the same page (no cookie is set)."""
    from legionary.intake.views import PUBLIC_LANGUAGES

    return [
        {"code": code, "name": name, "href": f"?lang={code}", "current": code == lang}
        for code, name in PUBLIC_LANGUAGES
    ]


class ScrollableNode(template.Node):
    def __init__(self, label: template.base.FilterExpression, nodelist: template.NodeList) -> None:
        self.label = label
        self.nodelist = nodelist

    def render(self, context: template.Context) -> str:
        return format_html(
            '<div class="app-table-container" tabindex="0" role="region" aria-label="{}">{}</div>',
            self.label.resolve(context),
            SafeString(self.nodelist.render(context)),
        )


@register.tag
def scrollable(parser: template.base.Parser, token: template.base.Token) -> ScrollableNode:
    """``{% scrollable _("Gradebook") %}<table>…</table>{% endscrollable %}``: a wide table scrolls
    inside its own keyboard-focusable region, named by the label, instead of widening the page."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("scrollable takes one argument: the region's accessible name")
    nodelist = parser.parse(("endscrollable",))
    parser.delete_first_token()
    return ScrollableNode(parser.compile_filter(bits[1]), nodelist)

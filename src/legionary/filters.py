"""The filters of the staff lists (MOJ's filter layout): a GET form, validated like any other form.

A list's filters are a ``ListFilters`` form bound to the query string. Each filter only narrows what
the list's selector already limits to the viewer's scope (``legionary.access.scopes``): the legions
offered are the viewer's own, and a value outside the choices (an unknown state, another legion) is
a field error shown on the page with status 400, never a wider list and never a 500. The filters in
force come back as tags, each a link to the same list without it, and the page links (keyset
cursors, ``after``/``before``) keep them.

Must never: read a sealed value, or make a query per row (the choices are a fixed number of queries).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from legionary.access.models import RoleGrant
from legionary.access.roles import ROLE_PERMISSIONS, Perm, ScopeKind
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.pagination import KeysetPage
from legionary.training.models import Cohort
from legionary.units.models import Unit
from legionary.vetting.models import Case

PAGING = ("after", "before")
"""The cursor parameters: never filters, dropped from the tags' links and replaced by the page links."""

ANY = ("", _("Any"))
YES = "1"


def legions_for(staff: Any, perm: Perm) -> list[tuple[str, str]]:
    """The legions ``staff`` works on through a role carrying ``perm``, as (slug, name) by name.

    System-wide: every legion; legion grants: those; unit, cohort or case grants: the legion of each
    (one query per kind held, whatever the number of records).
    """
    slugs: set[str] = set()
    refs: dict[str, list[int]] = {}
    grants = RoleGrant.objects.filter(staff=staff).values_list("role", "scope_kind", "scope_ref")
    for role, kind, ref in grants:
        if perm not in ROLE_PERMISSIONS.get(role, frozenset()):
            continue
        if kind == ScopeKind.SYSTEM:
            slugs = set(KNOWN_LEGIONS)
            refs = {}
            break
        if kind == ScopeKind.LEGION:
            slugs.add(ref)
        elif ref.isdigit():
            refs.setdefault(kind, []).append(int(ref))
    models: dict[str, Any] = {ScopeKind.UNIT: Unit, ScopeKind.COHORT: Cohort, ScopeKind.CASE: Case}
    for kind, ids in refs.items():
        model = models.get(kind)
        if model is not None:
            slugs |= set(model.objects.filter(pk__in=ids).values_list("legion", flat=True))
    return sorted(((slug, str(KNOWN_LEGIONS.get(slug, slug))) for slug in slugs if slug), key=lambda c: c[1])


def choice(label: Any, choices: list[tuple[str, Any]], *, invalid: Any, any_label: Any = None) -> forms.ChoiceField:
    """An optional filter chosen from a list ("Any" first); ``invalid`` is the message for anything else."""
    return forms.ChoiceField(
        label=label,
        required=False,
        choices=[("", any_label or ANY[1]), *choices],
        error_messages={"invalid_choice": invalid},
    )


def tick(label: Any) -> forms.BooleanField:
    """An optional yes/no filter (a checkbox; in the query string as ``=1``)."""
    return forms.BooleanField(label=label, required=False)


class ListFilters(forms.Form):
    """Base of a list's filters: bound to the query string, every field optional.

    ``applied`` is what narrows the list (only the valid filters: a form with errors applies none,
    and the view shows the errors instead of rows).
    """

    def __init__(self, request: HttpRequest, **kwargs: Any) -> None:
        data = request.GET.copy()
        for name in PAGING:
            data.pop(name, None)
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(data, **kwargs)
        self.path = request.path
        self.fields.update(self.build(request))
        for field in self.fields.values():
            if isinstance(field, forms.BooleanField):
                field.widget.attrs.setdefault("value", YES)

    def build(self, request: HttpRequest) -> dict[str, forms.Field]:
        """The list's filters, in the order shown (choices may depend on the viewer)."""
        return {}

    @property
    def applied(self) -> dict[str, Any]:
        """The filters in force, by name (empty until ``is_valid`` passes)."""
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None, False)}

    def query(self, *, without: str = "") -> dict[str, str]:
        """The filters in force as query-string values (for links that keep them)."""
        out: dict[str, str] = {}
        for name, value in self.applied.items():
            if name != without:
                out[name] = YES if value is True else str(value)
        return out

    def url(self, **extra: str) -> str:
        """This list with the filters in force (and ``extra`` parameters, e.g. a cursor)."""
        params = {**self.query(), **extra}
        return self.path + ("?" + urlencode(params) if params else "")

    def selected(self) -> list[dict[str, str]]:
        """The tags of the filters in force: "Label: value", each linking to the list without it."""
        tags = []
        for name, value in self.applied.items():
            field = self.fields[name]
            if isinstance(field, forms.ChoiceField):
                shown = str(dict(field.choices).get(value, value))  # type: ignore[arg-type]
                text = f"{field.label}: {shown}"
            else:
                text = str(field.label)
            rest = self.query(without=name)
            tags.append({"text": text, "href": self.path + ("?" + urlencode(rest) if rest else "")})
        return tags

    def context(self, page: KeysetPage[Any] | None = None) -> dict[str, Any]:
        """What ``components/filter.html`` and ``components/pagination.html`` need, for a template."""
        return {
            "filter_form": self,
            "filter_selected": self.selected(),
            "filter_clear_url": self.path if self.applied else "",
            "next_url": self.url(after=page.next) if page is not None and page.next else "",
            "previous_url": self.url(before=page.previous) if page is not None and page.previous else "",
        }

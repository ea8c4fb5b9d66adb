"""The shipped curriculum's names, in the reader's language.

Courses, modules, assessments and qualifications are data (``fixtures/basic_course.json``), edited
by administrators; their names are stored as written. The names shipped with the curriculum are
listed here for the translation catalogue, and ``shown`` looks a name up in it when a page draws
it: a shipped name reads in Ukrainian or Russian, a name an administrator typed reads as typed.
``tests/training/test_names.py`` checks that every name of the fixture is listed.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

SHIPPED: tuple[str, ...] = (
    # qualifications
    _("Basic tactics and movement"),
    _("Weapons handling"),
    _("Indirect-fire crew (mortar)"),
    _("Combat first aid (TCCC combat lifesaver)"),
    _("Air observer (UAV)"),
    _("Host-country language, basic"),
    _("Law of armed conflict"),
    # the course, its modules and their assessments
    _("Basic training"),
    _("Tactics and movement, including tactical withdrawal"),
    _("Tactics: written test"),
    _("Tactical withdrawal drill"),
    _("Weapons safety: written test"),
    _("Weapons handling: practical test"),
    _("Combat first aid (TCCC level)"),
    _("TCCC: written test"),
    _("TCCC: casualty scenario"),
    _("Mortar crew: written test"),
    _("Mortar crew drill"),
    _("Air observation with UAVs"),
    _("Air observation: written test"),
    _("Observation flight"),
    _("Host-country language, basic phrases first"),
    _("Language: written test"),
    _("Language: oral test"),
    _("Law of armed conflict: written test"),
)
_KNOWN = frozenset(SHIPPED)


def shown(name: str) -> str:
    """``name`` in the reader's language when it is a shipped name, else as stored."""
    return gettext(name) if name in _KNOWN else name

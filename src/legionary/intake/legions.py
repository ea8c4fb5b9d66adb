"""The national legions an application may name: data, not logic.

A slug here is the only thing the public may send as ``legion``; unknown slugs are refused by
``legionary.intake.schema``. Adding a legion is adding a line. Names are shown on the public form
in the applicant's language.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

KNOWN_LEGIONS: dict[str, Promise] = {
    "frl": _("Freedom of Russia Legion"),
    "bel": _("Belarusian volunteers"),
    "geo": _("Georgian Legion"),
    "intl": _("International Legion"),
    "usa": _("American volunteers"),
    "gbr": _("British volunteers"),
    "pol": _("Polish volunteers"),
}


def is_known_legion(slug: str) -> bool:
    return slug in KNOWN_LEGIONS

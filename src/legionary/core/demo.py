"""Synthetic people for the demo, the scale fixture (``core.scale``) and the benchmarks.

Names are drawn from a short made-up list with a "Demo" family-name prefix and a running number,
documents are "DEMO" numbers issued by the user-assigned country code ZZ, so that no demo person
can be mistaken for a real one.
"""

from __future__ import annotations

import random
from typing import Any

GIVEN = ["Ivan", "Oleg", "Pavel", "Artem", "Yuri", "Maksim", "Denis", "Roman", "Anton", "Gleb", "John", "Levan"]
FAMILY = ["Demov", "Demenko", "Demidze", "Demsky", "Demson", "Demovich"]
LEGIONS = ["frl", "bel", "geo", "intl"]
CITIZENSHIP = {"frl": "RU", "bel": "BY", "geo": "GE", "intl": "US", "usa": "US", "gbr": "GB", "pol": "PL"}
REF_PREFIX = "demo-"


def demo_ref(n: int) -> str:
    """The ``external_ref`` of the n-th synthetic person (``demo-0000042``)."""
    return f"{REF_PREFIX}{n:07d}"


# The father's name and birthplace a demo person and his re-application under another name share
# (``renamed_identity``): as made up as the rest.
PATRONYMIC = "Demidovich"
BIRTHPLACE = "Demograd"


def synthetic_identity(rng: random.Random, n: int, legion: str) -> dict[str, Any]:
    """An obviously synthetic identity in the shape of ``contract/application.schema.json``."""
    return {
        "given_names": rng.choice(GIVEN),
        "family_name": f"{rng.choice(FAMILY)}-{n}",
        "date_of_birth": f"{rng.randint(1965, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "citizenships": [CITIZENSHIP.get(legion, "US")],
        "documents": [{"kind": "passport", "country": "ZZ", "number": f"DEMO{n:09d}"}],
    }


def renamed_identity(identity: dict[str, Any], n: int) -> dict[str, Any]:
    """The demo person ``identity`` applying again as the n-th synthetic person under another name:
    the birth date, patronymic and birthplace kept (``identity`` must hold the last two), the given
    and family names far from his own, and a document of his own. Screening's possible tier pairs
    the two ("patronymic+birth_date", "birthplace+birth_date"); nothing links them."""
    given = GIVEN[(GIVEN.index(identity["given_names"]) + len(GIVEN) // 2) % len(GIVEN)]
    stem = identity["family_name"].rsplit("-", 1)[0]
    family = FAMILY[(FAMILY.index(stem) + len(FAMILY) // 2) % len(FAMILY)]
    return {
        **identity,
        "given_names": given,
        "family_name": f"{family}-{n}",
        "documents": [{"kind": "passport", "country": "ZZ", "number": f"DEMO{n:09d}"}],
    }


def synthetic_application(rng: random.Random, n: int) -> dict[str, Any]:
    """One synthetic application (the import format), for ``legionary import`` and its benchmark."""
    legion = rng.choice(LEGIONS)
    return {
        "external_ref": demo_ref(n),
        "legion": legion,
        "language": rng.choice(["en", "ru", "uk"]),
        "identity": synthetic_identity(rng, n, legion),
        "profile": {"military_experience": rng.choice(["none", "conscript", "contract"]), "skills": ["rifleman"]},
        "consent": True,
    }

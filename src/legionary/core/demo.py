"""Synthetic applicants for the demo and the benchmarks.

Names are drawn from a short made-up list with a "Demo" family-name prefix, so that no demo person
can be mistaken for a real one.
"""

from __future__ import annotations

import random
from typing import IO, Any

from tqdm import tqdm

GIVEN = ["Ivan", "Oleg", "Pavel", "Artem", "Yuri", "Maksim", "Denis", "Roman", "Anton", "Gleb", "John", "Levan"]
FAMILY = ["Demov", "Demenko", "Demidze", "Demsky", "Demson", "Demovich"]
LEGIONS = ["frl", "bel", "geo", "intl"]


def synthetic_application(rng: random.Random, n: int) -> dict[str, Any]:
    legion = rng.choice(LEGIONS)
    return {
        "external_ref": f"demo-{n:07d}",
        "legion": legion,
        "language": rng.choice(["en", "ru", "uk"]),
        "identity": {
            "given_names": rng.choice(GIVEN),
            "family_name": f"{rng.choice(FAMILY)}-{n}",
            "date_of_birth": f"{rng.randint(1965, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "citizenships": [{"frl": "RU", "bel": "BY", "geo": "GE", "intl": "US"}[legion]],
            "documents": [{"kind": "passport", "country": "ZZ", "number": f"DEMO{n:09d}"}],
        },
        "profile": {"military_experience": rng.choice(["none", "conscript", "contract"]), "skills": ["rifleman"]},
        "consent": True,
    }


def make_people(count: int, *, progress_to: IO[str] | None = None, seed: int = 7) -> int:
    """Creates ``count`` synthetic applicants through the real intake path; returns how many were new."""
    from legionary.identity.models import Person
    from legionary.identity.services import Actor, person_create

    rng = random.Random(seed)  # noqa: S311 — synthetic data, not security
    made = 0
    bar = tqdm(total=count, desc="people", unit="person", file=progress_to, disable=progress_to is None)
    for n in range(count):
        application = synthetic_application(rng, n)
        if not Person.objects.filter(external_ref=application["external_ref"]).exists():
            person_create(
                identity=application["identity"],
                legion=application["legion"],
                actor=Actor("demo"),
                language=application["language"],
                external_ref=application["external_ref"],
            )
            made += 1
        bar.update(1)
    bar.close()
    return made

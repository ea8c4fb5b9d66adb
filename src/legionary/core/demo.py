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
    """Creates ``count`` synthetic applicants through the real import path (validation, sealing,
    blind indexes, a vetting case, screening, audit entries); returns how many were new.

    Re-running it skips the references already stored, like ``legionary import``.
    """
    from legionary.intake.schema import validate_application
    from legionary.intake.services import applications_import_batch

    rng = random.Random(seed)  # noqa: S311 — synthetic data, not security
    made = 0
    batch = []
    bar = tqdm(total=count, desc="people", unit="person", file=progress_to, disable=progress_to is None)
    for n in range(count):
        batch.append(validate_application(synthetic_application(rng, n)))
        if len(batch) == 200 or n == count - 1:
            made += applications_import_batch(applications=batch).accepted
            bar.update(len(batch))
            batch = []
    bar.close()
    return made

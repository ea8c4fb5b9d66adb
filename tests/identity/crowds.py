"""Crowds of strangers who share one detail, for the bound on common tokens (``matching.MAX_BUCKET``).

Everyone in a crowd has the same birth date and the crowd's shared details, under a name of his
own: made-up names drawn from a fixed seed, each kept only if none of its index tokens is one that
an earlier member holds. So the only tokens the members share are the crowd's, and each of those is
held by exactly the crowd's size, which puts a test on either side of the bound at will.
"""

from __future__ import annotations

import random
from typing import Any

from legionary.identity import matching

# The same birth date, patronymic and birthplace under other names: the possible tier
# ("patronymic+birth_date", "birthplace+birth_date") while the crowd is small enough to count.
KIN: dict[str, Any] = {
    "patronymic": "Sergeevich",
    "date_of_birth": "1987-05-14",
    "place_of_birth": "Samara",
    "citizenships": ["RU"],
}
# The same passport number and birth date under other names, a placeholder number: the match
# tier ("document") while the crowd is small enough to count.
PLACEHOLDER: dict[str, Any] = {
    "date_of_birth": "1979-11-03",
    "documents": [{"kind": "passport", "country": "RU", "number": "0000 000000"}],
    "citizenships": ["RU"],
}


def strangers(size: int, shared: dict[str, Any], *, seed: int = 64) -> list[dict[str, Any]]:
    """``size`` identities with ``shared``'s details, whose names share no token with one another."""
    rng = random.Random(seed)  # noqa: S311 — made-up names for a test, the same at every run
    common = set(matching.identity_tokens(dict(shared, given_names="Aaa", family_name="Ooo")))
    common = {token for token in common if not token[0].startswith(("name", "given", "family"))}
    taken: set[tuple[str, str]] = set()
    crowd: list[dict[str, Any]] = []

    def word(syllables: int) -> str:
        return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(syllables)).capitalize()

    while len(crowd) < size:
        identity = dict(shared, given_names=word(3), family_name=word(4))
        own = set(matching.identity_tokens(identity)) - common
        if own & taken:
            continue
        taken |= own
        crowd.append(identity)
    return crowd

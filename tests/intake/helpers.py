"""Applications for the intake and API tests: obviously synthetic people, built in code."""

from __future__ import annotations

import copy
from typing import Any

from tests.identity import files

BASE: dict[str, Any] = {
    "external_ref": "t-0001",
    "legion": "frl",
    "language": "uk",
    "identity": {
        "given_names": "Zebulon Quintavius",
        "family_name": "Xylographov",
        "patronymic": "Yaroslavovich",
        "date_of_birth": "1991-04-17",
        "place_of_birth": "Vorkutograd",
        "citizenships": ["RU"],
        "documents": [{"kind": "passport", "country": "RU", "number": "QZ 7719 40321"}],
        "phone": "+7 912 555 0199",
        "email": "zebulon.xylo@example.org",
        "next_of_kin": [{"name": "Philomena Xylographova", "relation": "mother", "phone": "+7 912 555 0142"}],
    },
    "profile": {
        "military_experience": "conscript",
        "years_of_service": 2,
        "skills": ["medic"],
        "motivation": "Freedom.",
    },
    "consent": True,
}


def application(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        if value is DROP:
            target.pop(last, None)
        else:
            target[last] = value
    return data


DROP = object()

# Real files: uploads are decoded in full on arrival (identity.documents).
PDF = files.pdf()
PNG = files.png()

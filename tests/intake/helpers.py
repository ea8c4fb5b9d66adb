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


# What an applicant types on each page of the step-by-step form (``legionary.intake.forms.STEPS``).
STEP_ANSWERS: dict[str, dict[str, Any]] = {
    "legion": {"legion": "geo"},
    "identity": {
        "given_names": "Quirinus Vakhtangovich",
        "family_name": "Zhgentiklashvili",
        "date_of_birth_day": "2",
        "date_of_birth_month": "11",
        "date_of_birth_year": "1988",
        "place_of_birth": "Ozurgetiburg",
        "citizenships": ["GE", "UA"],
    },
    "documents": {"doc_1_kind": "passport", "doc_1_country": "GE", "doc_1_number": "GQ4471902"},
    "contact": {"phone": "+995 599 55 01 77", "email": "quirinus.zhg@example.net"},
    "kin": {"kin_1_name": "Tinatin Zhgentiklashvili", "kin_1_relation": "sister"},
    "experience": {"military_experience": "contract", "years_of_service": "4", "skills": ["mortar", "medic"]},
}


def walk_steps(client: Any, token: str, answers: dict[str, dict[str, Any]], *, lang: str) -> dict[str, str]:
    """Fills in every page of the form with ``answers`` (each page's GET, then its POST and the 303);
    returns each page's HTML by address, the check-your-answers page last."""
    pages: dict[str, str] = {}
    for slug, fields in answers.items():
        url = f"/apply/{slug}/?lang={lang}"
        page = client.get(url, secure=True)
        assert page.status_code == 200, (url, page.status_code)
        pages[url] = page.content.decode()
        sent = client.post(
            url, {**fields, "lang": lang, "csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN="https://testserver"
        )
        assert sent.status_code == 303, (url, sent.status_code, sent.content.decode()[:3000])
    check = client.get(f"/apply/check/?lang={lang}", secure=True)
    assert check.status_code == 200, check.status_code
    pages[f"/apply/check/?lang={lang}"] = check.content.decode()
    return pages

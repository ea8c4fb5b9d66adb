"""The shipped curriculum's names read in the reader's language; a name typed by an administrator reads as typed."""

from __future__ import annotations

from django.utils import translation

from legionary.training.curriculum import read_document
from legionary.training.names import SHIPPED, shown


def _fixture_names() -> set[str]:
    document = read_document()
    names = {q["name"] for q in document["qualifications"]}
    for course in document["courses"]:
        names.add(course["name"])
        for module in course["modules"]:
            names.add(module["name"])
            names.update(a["name"] for a in module["assessments"])
    return names


def test_every_name_of_the_shipped_curriculum_is_in_the_catalogue_list() -> None:
    assert _fixture_names() <= set(SHIPPED)


def test_a_shipped_name_is_translated_and_a_typed_one_is_left_as_typed() -> None:
    for language in ("uk", "ru"):
        with translation.override(language):
            for name in SHIPPED:
                assert shown(name) != name, (language, name)
            assert shown("Night navigation (local)") == "Night navigation (local)"

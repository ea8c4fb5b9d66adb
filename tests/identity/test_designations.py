"""Designation lists read as FollowTheMoney means them, and how their entries meet applicants' tokens."""

from __future__ import annotations

from typing import Any

import pytest

from legionary.identity import matching
from legionary.identity.designations import ListFormatError, entity_tokens, kin_names, read_entity
from legionary.identity.matching import identity_tokens, screening_strength
from legionary.identity.names import NameParts


def entity(entity_id: str = "e-1", schema: str = "Person", **properties: list[str]) -> dict[str, Any]:
    return {"id": entity_id, "schema": schema, "properties": properties}


def applicant(given: str, family: str, dob: str, **extra: Any) -> dict[str, Any]:
    return {"given_names": given, "family_name": family, "date_of_birth": dob, "citizenships": ["RU"], **extra}


def strength(listed: dict[str, Any], person: dict[str, Any]) -> str | None:
    entry = read_entity(listed)
    assert entry is not None
    mine, theirs = set(identity_tokens(person)), set(entity_tokens(entry))
    agreeing = {kind for kind, _ in mine & theirs}
    return screening_strength(agreeing, frozenset(k for k, _ in mine), frozenset(k for k, _ in theirs))


NOSOV = applicant("Timur", "Nosov", "1975-04-12", patronymic="Mikhailovich")


@pytest.mark.parametrize(
    "written",
    [
        "NOSOV Timur Mikhailovich",
        "Nosov Timur Mikhailovich",
        "Nosov, Timur Mikhailovich",
        "Timur Mikhailovich Nosov",
        "Timur Nosov",
        "NOSOV Timur",
        "Nosov, Timur",
        "НОСОВ Тимур Михайлович",
        "Тимур Михайлович Носов",
        "NOSOV Timur Mikhaylovich",
        "NOSOV TIMUR MIKHAILOVICH",
        "TIMUR MIKHAILOVICH NOSOV",
        "Nosov Timur Mikhailovich (Носов Тимур Михайлович)",
        "Носов Тимур Михайлович / Nosov Timur",
    ],
)
def test_a_listed_name_matches_in_every_order_case_script_with_or_without_patronymic(written: str) -> None:
    assert strength(entity(name=[written], birthDate=["1975-04-12"]), NOSOV) == "match"


@pytest.mark.parametrize("alias", ["alias", "weakAlias", "previousName"])
def test_a_cyrillic_alias_matches(alias: str) -> None:
    listed = entity(name=["Someone Else"], birthDate=["1975-04-12"], **{alias: ["Носов Тимур Михайлович"]})
    assert strength(listed, NOSOV) == "match"


def test_the_structured_name_properties_match() -> None:
    listed = entity(firstName=["Timur"], fatherName=["Mikhailovich"], lastName=["NOSOV"], birthDate=["1975-04-12"])
    assert strength(listed, NOSOV) == "match"
    entry = read_entity(listed)
    assert entry is not None and NameParts("Timur", "NOSOV", "Mikhailovich") in entry.names


@pytest.mark.parametrize("born", ["1975", "1975-04", "1975-04-12"])
def test_a_partial_birth_date_matches_at_its_own_precision(born: str) -> None:
    assert strength(entity(name=["NOSOV Timur Mikhailovich"], birthDate=[born]), NOSOV) == "match"


@pytest.mark.parametrize("born", ["1976", "1975-05", "1975-04-13", "1980-04-12"])
def test_a_decoy_with_another_birth_date_is_left_alone(born: str) -> None:
    assert strength(entity(name=["NOSOV Timur Mikhailovich"], birthDate=[born]), NOSOV) is None


def test_a_listed_patronymic_that_disagrees_is_only_possible() -> None:
    listed = entity(name=["NOSOV Timur Sergeyevich"], birthDate=["1975-04-12"])
    assert strength(listed, NOSOV) == "possible"
    assert strength(entity(name=["NOSOV Timur Sergeyevich"], birthDate=["1975-04-13"]), NOSOV) is None


def test_a_listed_document_number_matches_the_applicants_document_whatever_its_spelling() -> None:
    person = applicant(
        "Ivan", "Petrov", "1990-01-01", documents=[{"kind": "passport", "country": "RU", "number": "71 № 990-6820"}]
    )
    assert strength(entity(name=["Other Person"], passportNumber=["719906820"]), person) == "match"
    assert strength(entity(name=["Other Person"], idNumber=["71-990-6820"]), person) == "match"
    assert strength(entity(name=["Other Person"], idNumber=["71-990-6821"]), person) is None


def test_a_surname_two_edits_apart_is_a_possible_hit() -> None:
    person = applicant("Timur", "Drozdovsky", "1975-04-12")
    assert strength(entity(name=["DROZZDOVSKII Timur"], birthDate=["1975-04-12"]), person) == "match"
    assert strength(entity(name=["DORZDOVSKAYA Timur"], birthDate=["1975-04-12"]), person) == "possible"


def test_only_people_are_kept_and_nameless_entities_are_skipped() -> None:
    assert read_entity(entity(schema="Company", name=["Acme"])) is None
    assert read_entity(entity(birthDate=["1975"])) is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "not a JSON object"),
        ({"schema": "Person", "properties": {}}, "no id"),
        ({"id": "x", "schema": "Nonsense", "properties": {}}, "no FollowTheMoney schema"),
        ({"id": "x", "schema": "Person", "properties": {"name": "Timur Nosov"}}, "not a list of strings"),
        ({"id": "x", "schema": "Person", "properties": ["name"]}, "not an object"),
    ],
)
def test_what_is_not_an_entity_is_refused_with_a_reason(data: object, reason: str) -> None:
    with pytest.raises(ListFormatError, match=reason):
        read_entity(data)


def test_birthplace_nationality_and_unparseable_dates_are_read() -> None:
    entry = read_entity(
        entity(
            name=["Timur Nosov"],
            birthDate=["1975-04-12T00:00:00", "garbage"],
            birthPlace=["Samara"],
            nationality=["ru"],
        )
    )
    assert entry is not None
    assert (entry.birth_dates, entry.birth_places, entry.nationalities) == (("1975-04-12",), ("Samara",), ("ru",))


def test_an_entry_is_indexed_only_under_the_kinds_screening_compares() -> None:
    entry = read_entity(entity(name=["NOSOV Timur Mikhailovich"], birthDate=["1975-04-12"], birthPlace=["Samara"]))
    assert entry is not None
    kinds = {kind for kind, _ in entity_tokens(entry)}
    assert matching.NAME_DOB in kinds and matching.PHONE not in kinds and matching.BIRTHPLACE_DOB not in kinds


def test_kin_names_come_with_and_without_the_patronymic() -> None:
    entry = read_entity(entity(name=["NOSOV Timur Mikhailovich"]))
    assert entry is not None
    assert {"Timur NOSOV", "Timur Mikhailovich NOSOV"} <= set(kin_names(entry))

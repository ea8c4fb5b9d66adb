"""Name normalisation: total on any text, idempotent, and blind to script, case and spelling system."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legionary.identity.names import (
    MAX_VARIANTS,
    deletion_neighbourhood,
    latinise,
    name_words,
    skeleton,
    skeleton_variants,
    skeleton_words,
)

# Any code point except lone surrogates, plus the awkward ones on purpose.
awkward = st.sampled_from(["\u200d", "\u200b", "\u202e", "\u202d", "\x00", "\u0301", "\u0308", "\ufeff", "№", "ʹ"])
any_text = st.lists(st.one_of(st.characters(exclude_categories=["Cs"]), awkward), max_size=40).map("".join)
name_like = st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяabcdefghijklmnopqrstuvwxyzčšžâûëß'- ", max_size=30)


@given(any_text)
def test_every_function_is_total_on_any_text(text: str) -> None:
    assert isinstance(latinise(text), str)
    assert isinstance(skeleton(text), str)
    assert all(isinstance(w, str) for w in name_words(text))
    assert all(len(v) <= MAX_VARIANTS for v in skeleton_words(text))
    assert isinstance(skeleton_variants(text), list)
    assert text in deletion_neighbourhood(text)


def test_lone_surrogates_do_not_raise() -> None:
    assert latinise("Ivan\ud800ov") == "ivan ov"
    assert skeleton("\udfff") == ""


@given(any_text)
def test_latinise_is_idempotent(text: str) -> None:
    once = latinise(text)
    assert latinise(once) == once


@given(any_text)
def test_skeleton_is_idempotent(text: str) -> None:
    once = skeleton(text)
    assert skeleton(once) == once


@given(name_like)
def test_skeleton_ignores_letter_case(text: str) -> None:
    assert skeleton(text.upper()) == skeleton(text.lower()) == skeleton(text)


@given(name_like, name_like)
def test_swapping_name_order_keeps_the_set_of_skeletons(first: str, second: str) -> None:
    assert sorted(skeleton(f"{first} {second}").split()) == sorted(skeleton(f"{second} {first}").split())


def test_invisible_and_directional_characters_do_not_change_a_name() -> None:
    assert skeleton("\u202eКуз\u200dнецов\u200b") == skeleton("Кузнецов")
    assert skeleton("Kuzne\u0301tsov") == skeleton("Kuznetsov")


@pytest.mark.parametrize(
    "spellings",
    [
        [
            "Дмитрий Кузнецов",
            "Dmitriy Kuznetsov",
            "DMITRII KUZNETCOV",
            "Dmitri Kusnezow",
            "Kuznetsov Dmitry",
            "Dmitrij Kuznecov",
        ],
        ["Михаил", "Mikhail", "Mihail", "Mixail", "Michail"],
        ["Юлия", "Yuliya", "Iuliia", "Julija", "Yulia"],
        ["Фёдор", "Fyodor", "Fedor", "Fjodor", "Fiodor", "Fёdor"],
        ["Третьяков", "Tret'yakov", "Tretiakov", "Tretyakov"],
        ["Вячеслав", "Vyacheslav", "Viacheslav", "Vjačeslav", "Vâčeslav", "Wjatscheslaw"],
        ["Крюков", "Kryukov", "KRÛKOV", "Kriukov"],
        ["Николай", "Nikolai", "Nikolay", "Nikolaj", "Nicolai"],
        ["Захар", "Zakhar", "Zahar", "Zaxar"],
        ["Алексей", "Aleksey", "Aleksei", "Alexey", "Aleksej"],
        ["Андреевич", "Andreyevich", "Andreevič", "Andrejevich"],
        ["Евгеньевич", "Yevgen’yevich", "Evgenievich", "Yevgenyevich", "Jewgenjewitsch"],
        ["Овчинников", "Ovchinnikov", "Owtschinnikow", "Ovčinnikov"],
        ["Жуков", "Zhukov", "Žukov", "Schukow"],
        ["Горбачёв", "Gorbachev", "Gorbachyov", "Gorbačёv", "Gorbatchev"],
        ["Ярослав", "Yaroslav", "Iaroslav", "Jaroslav"],
        ["Егоров", "Yegorov", "Egorov", "Jegorov"],
        ["Ксения", "Kseniya", "Ksenia", "Ksenija"],
        ["Ігор", "Ihor", "Igor"],
        ["Василий", "Vasiliy", "Vasily", "Wassili", "Vasilij"],
        ["გიორგი ბერიძე", "Giorgi Beridze", "ᲒᲘᲝᲠᲒᲘ ᲑᲔᲠᲘᲫᲔ"],
    ],
)
def test_a_name_and_its_transliterations_share_a_skeleton(spellings: list[str]) -> None:
    readings = [{tuple(sorted(choice)) for choice in _all_readings(s)} for s in spellings]
    common = set.intersection(*readings)
    assert common, f"no common skeleton for {spellings}: {readings}"


def _all_readings(text: str) -> list[tuple[str, ...]]:
    import itertools

    return list(itertools.product(*skeleton_words(text)))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Aleksandr", "Aleksandra"),
        ("Maria", "Mario"),
        ("Pavel", "Petr"),
        ("Ivanovich", "Ivanovna"),
        ("Nikonov", "Nikonova"),
    ],
)
def test_different_names_keep_different_skeletons(one: str, other: str) -> None:
    assert skeleton(one) != skeleton(other)


def test_latinise_transliterates_cyrillic_georgian_and_special_latin_letters() -> None:
    assert latinise("Щукин Ёлкин") == "shchukin yolkin"
    assert latinise("ბერიძე") == "beridze"
    assert latinise("Straße Łukasz Øre") == "strasse lukasz ore"
    assert latinise("O'Brien  Il’ya") == "obrien ilya"


def test_the_deletion_neighbourhood_of_two_words_one_typo_apart_intersects() -> None:
    for typo, right in [("konstatnin", "konstantin"), ("goolubev", "golubev"), ("kudryashv", "kudryashov")]:
        assert deletion_neighbourhood(typo) & deletion_neighbourhood(right)
    assert not deletion_neighbourhood("ivan") & deletion_neighbourhood("pavel")


def test_short_words_have_no_neighbourhood_beyond_themselves() -> None:
    assert deletion_neighbourhood("yan") == {"yan"}

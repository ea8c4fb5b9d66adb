"""A CI officer's conclusions applied to screening's groups (``vetting.duplicates.resolve``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from legionary.vetting.duplicates import resolve


def test_same_person_marks_the_group_that_holds_both_as_confirmed() -> None:
    out = resolve([(["a", "b"], ["document"])], [("b", "a", "same_person")])
    assert [(g.members, g.confirmed) for g in out.groups] == [(["a", "b"], True)]


def test_same_person_outside_any_group_makes_a_confirmed_group_of_two() -> None:
    out = resolve([], [("a", "b", "same_person")])
    assert [(g.members, g.reasons, g.confirmed) for g in out.groups] == [(["a", "b"], ["confirmed"], True)]


def test_same_person_across_two_groups_joins_them_into_one() -> None:
    out = resolve([(["a", "b"], ["document"]), (["c", "d"], ["phone"])], [("b", "c", "same_person")])
    assert len(out.groups) == 1
    assert sorted(out.groups[0].members) == ["a", "b", "c", "d"]
    assert set(out.groups[0].reasons) == {"document", "phone", "confirmed"}


def test_different_people_drops_a_group_of_just_those_two_and_lists_the_pair() -> None:
    out = resolve([(["a", "b"], ["name+birth_date"]), (["c", "d"], ["document"])], [("a", "b", "different_people")])
    assert [g.members for g in out.groups] == [["c", "d"]]
    assert out.dismissed == [("a", "b")]


def test_different_people_inside_a_larger_group_keeps_the_group() -> None:
    out = resolve([(["a", "b", "c"], ["document"])], [("a", "b", "different_people")])
    assert [g.members for g in out.groups] == [["a", "b", "c"]] and out.dismissed == [("a", "b")]


people = st.sampled_from(list("abcdefgh"))


@given(
    st.lists(st.tuples(people, people, st.sampled_from(["same_person", "different_people"])), max_size=12),
)
def test_every_record_stays_in_at_most_one_group_of_at_least_two(pairs: list[tuple[str, str, str]]) -> None:
    pairs = [(a, b, r) for a, b, r in pairs if a != b]
    out = resolve([(["a", "b"], ["document"]), (["c", "d", "e"], ["phone"])], pairs)
    members = [m for g in out.groups for m in g.members]
    assert len(members) == len(set(members))
    assert all(len(g.members) >= 2 for g in out.groups)

"""access.memo: answers are kept only inside ``remembering()``, so a read after a write outside it
is always fresh, and a gathering (My work) reads what its sections share once."""

from __future__ import annotations

import pytest

from legionary.access import scopes
from legionary.access.memo import remembered, remembering
from legionary.access.models import RoleGrant
from legionary.access.roles import Role, ScopeKind
from tests.conftest import MakeStaff


def test_an_answer_is_kept_inside_the_block_only() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert remembered("k", compute) == 1 and remembered("k", compute) == 2  # outside: every time
    with remembering():
        assert remembered("k", compute) == 3
        with remembering():  # an inner block reuses the outer one's answers
            assert remembered("k", compute) == 3
        assert remembered("other", compute) == 4
    assert remembered("k", compute) == 5  # nothing outlives the block


@pytest.mark.django_db
def test_a_grant_added_outside_a_gathering_is_seen_at_once(make_staff: MakeStaff) -> None:
    staff = make_staff("memo-1", Role.INSTRUCTOR)
    assert scopes.roles_of(staff) == {Role.INSTRUCTOR}
    RoleGrant.objects.create(staff=staff, role=Role.AUDITOR, scope_kind=ScopeKind.SYSTEM, scope_ref="")
    assert scopes.roles_of(staff) == {Role.INSTRUCTOR, Role.AUDITOR}
    with remembering():
        first = scopes.grant_rows(staff)
        RoleGrant.objects.filter(staff=staff, role=Role.AUDITOR).delete()
        assert scopes.grant_rows(staff) == first  # one read per gathering
    assert scopes.roles_of(staff) == {Role.INSTRUCTOR}

""" "My work": one view gathers a section per domain from the registry (legionary.access.mywork),
shows each only to the roles its permission names, oldest and overdue first, with counts on the
navigation; the security officer and auditor section lists openings of sealed data and the state
of the audit log's checkpoints, and showing it is recorded as a view of the log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from legionary.access import mywork
from legionary.access.roles import Perm, Role
from legionary.audit.models import Checkpoint, Entry
from legionary.audit.services import audit_record, checkpoint_now
from tests.conftest import MakeStaff, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def open_identity(actor: str, person: str) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="identity.unsealed", subject=person, details={"reason": "vetting"})


def test_every_role_lands_on_my_work_and_a_roleless_account_is_refused(make_staff: MakeStaff) -> None:
    for role in Role.values:
        response = signed_in(make_staff(f"w-{role}", role)).get("/work/", secure=True)
        assert response.status_code == 200, role
        assert '<h1 class="govuk-heading-l">My work</h1>' in response.content.decode()
    assert signed_in(make_staff("roleless")).get("/work/", secure=True).status_code == 403
    anonymous = Client().get("/work/", secure=True)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_the_auditor_sees_recent_openings_newest_first_and_the_view_is_recorded(make_staff: MakeStaff) -> None:
    auditor = make_staff("auditor-1", Role.AUDITOR)
    open_identity("investigator-1", "p-older")
    open_identity("investigator-2", "p-newer")
    before = Entry.objects.filter(action="audit.log_viewed").count()
    page = signed_in(auditor).get("/work/", secure=True).content.decode()
    section = page[page.index('id="work-audit-openings"') :]
    assert section.index("person p-newer") < section.index("person p-older")
    assert "by investigator-2" in section
    # The reason given for an opening is never shown here.
    assert "vetting" not in section.split("</section>")[0]
    viewed = Entry.objects.filter(action="audit.log_viewed", actor="auditor-1")
    assert viewed.count() == before + 1


def test_roles_without_the_audit_log_see_no_audit_section(make_staff: MakeStaff) -> None:
    open_identity("investigator-1", "p-1")
    page = signed_in(make_staff("intake-1", Role.INTAKE_OFFICER)).get("/work/", secure=True).content.decode()
    assert "work-audit-openings" not in page and "p-1" not in page
    assert not Entry.objects.filter(action="audit.log_viewed", actor="intake-1").exists()


def test_the_navigation_counts_openings_of_the_last_day_and_reuses_the_count(make_staff: MakeStaff) -> None:
    officer = make_staff("so-1", Role.SECURITY_OFFICER)
    open_identity("investigator-1", "p-1")
    open_identity("investigator-1", "p-2")
    Entry.objects.filter(subject="p-1").update(created_at=timezone.now() - timedelta(days=2))
    client = signed_in(officer)
    page = client.get("/dashboard/", secure=True).content.decode()
    assert 'id="nav-audit"' in page
    nav = page[page.index('id="nav-audit"') :].split("</a>")[0]
    assert '<span class="moj-notification-badge app-nav-count">1<' in nav
    # Counted once a minute at most: a new opening shows on My work at once, on the badge later.
    open_identity("investigator-1", "p-3")
    nav = client.get("/dashboard/", secure=True).content.decode()
    assert '<span class="moj-notification-badge app-nav-count">1<' in nav
    mywork.forget_counts(officer.pk)
    assert (
        '<span class="moj-notification-badge app-nav-count">2<'
        in client.get("/dashboard/", secure=True).content.decode()
    )


@override_settings(LEGIONARY_CHECKPOINT_EVERY_ENTRIES=1000, LEGIONARY_CHECKPOINT_EVERY_MINUTES=60)
def test_the_checkpoint_status_says_up_to_date_or_overdue(make_staff: MakeStaff) -> None:
    client = signed_in(make_staff("auditor-1", Role.AUDITOR))
    latest = checkpoint_now()
    page = client.get("/work/", secure=True).content.decode()
    status = page[page.index('id="work-audit-checkpoints"') :].split("</section>")[0]
    assert 'data-state="done"' in status and "Up to date" in status
    # Showing My work appended an entry (the view of the log) after the checkpoint: behind, not due.
    page = client.get("/work/", secure=True).content.decode()
    status = page[page.index('id="work-audit-checkpoints"') :].split("</section>")[0]
    assert 'data-state="done"' in status and "Not due yet" in status and "app-row--overdue" not in status
    # An hour and more later, with entries still outside any signed checkpoint: overdue.
    open_identity("investigator-1", "p-1")
    Checkpoint.objects.filter(size=latest.size).update(created_at=timezone.now() - timedelta(minutes=61))
    page = client.get("/work/", secure=True).content.decode()
    status = page[page.index('id="work-audit-checkpoints"') :].split("</section>")[0]
    assert 'data-state="overdue"' in status and "app-row--overdue" in status


def test_a_registered_provider_shows_only_to_its_permission_in_its_order(make_staff: MakeStaff) -> None:
    seen: list[str] = []

    def provide(who: mywork.Who) -> mywork.WorkSection:
        seen.append(who.username)
        return mywork.WorkSection(
            key="test-training",
            title="Results to sign off",
            items=mywork.oldest_first(
                [
                    mywork.WorkItem(label="Zaza", url="/training/1/", since=timezone.now()),
                    mywork.WorkItem(label="Miami", url="/training/2/", since=timezone.now() - timedelta(days=3)),
                    mywork.WorkItem(label="Caesar", url="/training/3/", overdue=True, state="overdue"),
                ]
            ),
        )

    mywork.provider(key="test-training", perm=Perm.VIEW_TRAINING, order=1)(provide)
    try:
        instructor = signed_in(make_staff("instructor-1", Role.INSTRUCTOR)).get("/work/", secure=True)
        html = instructor.content.decode()
        assert html.index("Caesar") < html.index("Miami") < html.index("Zaza")
        auditor = signed_in(make_staff("auditor-1", Role.AUDITOR)).get("/work/", secure=True).content.decode()
        assert "Results to sign off" not in auditor
        assert seen == ["instructor-1"]
        with pytest.raises(ValueError, match="already registered"):
            mywork.provider(key="test-training", perm=Perm.VIEW_TRAINING)(lambda who: None)
    finally:
        mywork._PROVIDERS.pop("test-training")


def test_applicant_supplied_labels_are_isolated(make_staff: MakeStaff) -> None:
    def provide(who: mywork.Who) -> mywork.WorkSection:
        return mywork.WorkSection(key="test-rlo", title="New", items=[mywork.WorkItem(label="\u202eevil", url="/x/")])

    mywork.provider(key="test-rlo", perm=Perm.VIEW_INTAKE_QUEUE)(provide)
    try:
        page = signed_in(make_staff("intake-1", Role.INTAKE_OFFICER)).get("/work/", secure=True).content.decode()
        assert '<a class="govuk-link" href="/x/"><bdi>\u202eevil</bdi></a>' in page
    finally:
        mywork._PROVIDERS.pop("test-rlo")


def test_sections_that_share_a_place_share_one_navigation_item(make_staff: MakeStaff) -> None:
    page = signed_in(make_staff("adj-1", Role.ADJUDICATOR)).get("/work/", secure=True).content.decode()
    items = re.findall(r'id="nav-([a-z]+)" data-sections="([a-z ]+)"', page)
    assert items[0] == ("work", "work")
    merged = dict(items)
    assert any("adjudication" in keys.split() for keys in merged.values())
    assert len({key for key, _ in items}) == len(items)


def test_my_work_refreshes_the_navigation_badges_with_the_counts_it_shows(make_staff: MakeStaff) -> None:
    officer = make_staff("so-2", Role.SECURITY_OFFICER)
    open_identity("investigator-1", "p-1")
    client = signed_in(officer)
    client.get("/dashboard/", secure=True)  # the badge's count is now cached: 1
    open_identity("investigator-1", "p-2")
    # My work counts the openings anyway: the badge on the same page, and on the next, says 2.
    page = client.get("/work/", secure=True).content.decode()
    nav = page[page.index('id="nav-audit"') :].split("</a>")[0]
    assert '<span class="moj-notification-badge app-nav-count">2<' in nav
    later = client.get("/dashboard/", secure=True).content.decode()
    assert '<span class="moj-notification-badge app-nav-count">2<' in later


def test_my_work_reads_the_grants_once_and_its_query_count_does_not_grow_with_the_rows(make_staff: MakeStaff) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    chief = make_staff("chief-1", *Role.values)
    client = signed_in(chief)
    client.get("/work/", secure=True)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/work/", secure=True).status_code == 200
    grants = [q for q in few.captured_queries if 'FROM "access_rolegrant"' in q["sql"]]
    # One read of the roles for the permissions, one of the grants for every section's scope.
    assert len(grants) == 2, [q["sql"] for q in grants]
    for n in range(12):
        open_identity("investigator-1", f"p-{n}")
    with CaptureQueriesContext(connection) as many:
        client.get("/work/", secure=True)
    # The audit section's view is recorded in the Merkle log: a node or two more as the log grows.
    assert abs(len(many) - len(few)) <= 2

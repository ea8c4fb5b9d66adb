"""Sealed identities end to end: sealing, unsealing with a reason, rotation, erasure, duplicates."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from legionary.access.models import Staff
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role
from legionary.audit.models import Entry
from legionary.identity import crypto, matching, services
from legionary.identity.models import BlindIndex, Person, SealedDocument, SealedIdentity
from legionary.identity.services import Actor, IdentityError, NotPermitted
from tests.identity import files
from tests.plans import analyze_after_bulk_load

# A security officer opens outside any assignment: break-glass, let through here (issue 21).
pytestmark = pytest.mark.usefixtures("openings_alert_policy")

DMITRY: dict[str, Any] = {
    "given_names": "Дмитрий",
    "family_name": "Кузнецов",
    "patronymic": "Сергеевич",
    "date_of_birth": "1990-04-12",
    "citizenships": ["RU"],
    "documents": [{"kind": "passport", "country": "RU", "number": "75 1234567"}],
    "phone": "+7 912 345-67-89",
    "email": "d.kuznetsov@example.org",
    "next_of_kin": [{"name": "Мария Кузнецова", "relation": "mother", "phone": "+7 912 000-00-01"}],
}
PDF = files.pdf()


def create(identity: dict[str, Any] = DMITRY, legion: str = "frl", **kwargs: Any) -> Person:
    return services.person_create(identity=identity, legion=legion, actor=Actor("test"), **kwargs)


@pytest.fixture
def officer(make_staff) -> Staff:  # type: ignore[no-untyped-def]
    return make_staff("sec", Role.SECURITY_OFFICER)


@pytest.mark.django_db
def test_a_created_person_has_a_random_id_a_call_sign_and_a_sealed_identity() -> None:
    person = create()
    other = create(dict(DMITRY, given_names="Иван"))
    assert person.id.startswith("p") and len(person.id) == 21 and person.id != other.id
    assert person.call_sign and person.call_sign != other.call_sign
    sealed = SealedIdentity.objects.get(person=person)
    assert "Кузнецов".encode() not in bytes(sealed.ciphertext)
    assert BlindIndex.objects.filter(person=person).count() > 5


@pytest.mark.django_db(transaction=True)
def test_unsealing_needs_a_reason_and_is_recorded_before_the_plaintext_is_returned(officer: Staff) -> None:
    person = create()
    with pytest.raises(IdentityError):
        services.unseal_identity(person=person, actor=Actor("sec", officer), reason="  ")
    assert not Entry.objects.filter(action="identity.unsealed").exists()
    identity = services.unseal_identity(person=person, actor=Actor("sec", officer), reason="Polygraph appointment")
    assert identity == DMITRY
    entry = Entry.objects.get(action="identity.unsealed")
    assert entry.subject == person.id and entry.actor == "sec"
    assert json.loads(bytes(entry.body))["details"]["reason"] == "Polygraph appointment"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [r for r in Role.values if Perm.UNSEAL_IDENTITY not in ROLE_PERMISSIONS[r]])
def test_roles_without_the_unseal_permission_are_refused(make_staff, role: str) -> None:  # type: ignore[no-untyped-def]
    person = create()
    staff = make_staff(f"u-{role}", role)
    with pytest.raises(NotPermitted):
        services.unseal_identity(person=person, actor=Actor(staff.username, staff), reason="I am curious")
    assert not Entry.objects.filter(action="identity.unsealed").exists()


@pytest.mark.django_db(transaction=True)
def test_a_legion_scoped_grant_cannot_unseal_another_legions_people(make_staff) -> None:  # type: ignore[no-untyped-def]
    # A security officer sees his whole scope (a CI officer only his cases: tests/access/test_need_to_know.py).
    staff = make_staff("sec-bel", Role.SECURITY_OFFICER, scope_kind="legion", scope_ref="bel")
    belarusian = create(legion="bel")
    russian = create(dict(DMITRY, given_names="Олег"), legion="frl")
    assert services.unseal_identity(person=belarusian, actor=Actor("sec-bel", staff), reason="Review of case")
    with pytest.raises(NotPermitted):
        services.unseal_identity(person=russian, actor=Actor("sec-bel", staff), reason="Review of case")


@pytest.mark.django_db(transaction=True)
def test_a_sealed_identity_moved_to_another_person_does_not_open(officer: Staff) -> None:
    victim, other = create(), create(dict(DMITRY, given_names="Олег"))
    source = SealedIdentity.objects.get(person=victim)
    SealedIdentity.objects.filter(person=other).update(
        ciphertext=source.ciphertext, wrapped_dek=source.wrapped_dek, kek_version=source.kek_version
    )
    with pytest.raises(crypto.SealBrokenError) as caught:
        services.unseal_identity(person=other, actor=Actor("sec", officer), reason="Checking a report")
    assert "Кузнецов" not in str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_only_the_ciphertext_moved_does_not_open_either(officer: Staff) -> None:
    victim, other = create(), create(dict(DMITRY, given_names="Олег"))
    source = SealedIdentity.objects.get(person=victim)
    SealedIdentity.objects.filter(person=other).update(ciphertext=source.ciphertext)
    with pytest.raises(crypto.SealBrokenError):
        services.unseal_identity(person=other, actor=Actor("sec", officer), reason="Checking a report")


@pytest.mark.django_db(transaction=True)
def test_key_rotation_rewraps_every_data_key_and_every_identity_still_opens(officer: Staff) -> None:
    people = [create(dict(DMITRY, given_names=f"Имя{n}")) for n in range(7)]
    before = {p.id: bytes(SealedIdentity.objects.get(person=p).wrapped_dek) for p in people}
    old_version = services.key_provider().current_kek_version()
    version, rewrapped = services.kek_rotate(actor=Actor("test"), batch_size=3)
    assert version == old_version + 1 and rewrapped == 7
    assert services.kek_pending() == 0
    for person in people:
        sealed = SealedIdentity.objects.get(person=person)
        assert sealed.kek_version == version and bytes(sealed.wrapped_dek) != before[person.id]
        opened = services.unseal_identity(person=person, actor=Actor("sec", officer), reason="After rotation")
        assert opened["family_name"] == "Кузнецов"
    assert Entry.objects.filter(action="keys.kek_rotated").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_rotation_is_finished_by_running_the_rewrap_again() -> None:
    for n in range(6):
        create(dict(DMITRY, given_names=f"Имя{n}"))

    def crash_after_first_batch(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.kek_rotate(actor=Actor("test"), batch_size=2, progress=crash_after_first_batch)
    assert services.kek_pending() == 4
    assert services.kek_rewrap(batch_size=2) == 4
    assert services.kek_pending() == 0


@pytest.mark.django_db(transaction=True)
def test_reads_and_writes_succeed_while_a_rotation_runs(officer: Staff) -> None:
    import threading

    from django.db import connection

    people = [create(dict(DMITRY, given_names=f"Имя{n}")) for n in range(30)]
    errors: list[BaseException] = []
    stop = threading.Event()
    created: list[str] = []
    opened = [0]

    def reader() -> None:
        try:
            while not stop.is_set():
                for person in people[:10]:
                    services.unseal_identity(person=person, actor=Actor("sec", officer), reason="Concurrent read")
                    opened[0] += 1
        except BaseException as exc:  # noqa: BLE001 — reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    def writer() -> None:
        try:
            n = 0
            while not stop.is_set() and n < 20:
                created.append(create(dict(DMITRY, given_names=f"Новый{n}")).id)
                n += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    try:
        services.kek_rotate(actor=Actor("test"), batch_size=4)
        services.kek_rewrap(batch_size=4)  # people written during the rotation under the old version
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert opened[0] > 0 and created
    services.kek_rewrap()
    assert services.kek_pending() == 0
    for person in Person.objects.all():
        assert services.unseal_identity(person=person, actor=Actor("sec", officer), reason="Final check")


@pytest.mark.django_db(transaction=True)
def test_reindexing_under_a_new_index_key_keeps_duplicates_findable() -> None:
    first = create()
    before = set(BlindIndex.objects.filter(person=first).values_list("value", flat=True))
    version, count = services.index_rotate(actor=Actor("test"))
    assert count == 1
    after = BlindIndex.objects.filter(person=first)
    assert set(after.values_list("key_version", flat=True)) == {version}
    assert before.isdisjoint(set(after.values_list("value", flat=True)))
    again = create(dict(DMITRY, given_names="Dmitriy", family_name="Kuznetsov", patronymic="Sergeevich"))
    assert [pid for pid, _ in services.duplicate_candidates(again)] == [first.id]


@pytest.mark.django_db(transaction=True)
def test_erasure_leaves_nothing_that_opens_and_keeps_the_pseudonymous_person(officer: Staff) -> None:
    person = create()
    document = services.document_store(person=person, source=io.BytesIO(PDF))
    stored = Path(settings.LEGIONARY_UPLOADS) / document.id[:2] / document.id
    assert stored.exists()
    services.identity_erase(person=person, actor=Actor("sec", officer), reason="Applicant asked to be forgotten")
    person.refresh_from_db()
    assert person.is_erased and person.call_sign
    assert not SealedIdentity.objects.filter(person=person).exists()
    assert not BlindIndex.objects.filter(person=person).exists()
    assert not SealedDocument.objects.filter(person=person).exists()
    assert not stored.exists()
    with pytest.raises(IdentityError):
        services.unseal_identity(person=person, actor=Actor("sec", officer), reason="Trying after erasure")
    assert Entry.objects.filter(action="identity.erased", subject=person.id).exists()


@pytest.mark.django_db(transaction=True)
def test_only_the_erase_permission_may_erase(make_staff) -> None:  # type: ignore[no-untyped-def]
    person = create()
    investigator = make_staff("inv", Role.INVESTIGATOR)
    with pytest.raises(NotPermitted):
        services.identity_erase(person=person, actor=Actor("inv", investigator), reason="Not my call to make")
    assert SealedIdentity.objects.filter(person=person).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "variant",
    [
        {"given_names": "Dmitriy", "family_name": "Kuznetsov", "patronymic": "Sergeevich"},
        {"given_names": "DMITRII", "family_name": "KUZNETCOV", "patronymic": None},
        {"given_names": "Kuznetsov", "family_name": "Dmitry", "patronymic": None},
        {"given_names": "Дмитрий", "family_name": "Кузнецов", "documents": [], "phone": None},
    ],
)
def test_the_same_person_is_found_again_across_scripts_and_spellings(variant: dict[str, Any]) -> None:
    first = create()
    again = create(
        dict(DMITRY, **variant, email=None, phone=None) if "documents" not in variant else dict(DMITRY, **variant)
    )
    assert [pid for pid, _ in services.duplicate_candidates(again)] == [first.id]


@pytest.mark.django_db
def test_a_namesake_born_another_day_and_a_twin_brother_are_not_flagged() -> None:
    create()
    namesake = create(dict(DMITRY, date_of_birth="1991-04-12", documents=[], phone=None, email=None))
    twin = create(dict(DMITRY, given_names="Алексей", documents=[], phone=None, email=None))
    assert services.duplicate_candidates(namesake) == []
    assert services.duplicate_candidates(twin) == []


@pytest.mark.django_db
def test_a_free_harmless_preferred_call_sign_is_granted() -> None:
    assert create(preferred_call_sign="Zaza").call_sign == "Zaza"


@pytest.mark.django_db
def test_a_call_sign_that_contains_the_applicants_name_is_not_granted() -> None:
    assert create(preferred_call_sign="Kuznetsov-77").call_sign != "Kuznetsov-77"
    assert create(dict(DMITRY, given_names="Oleg"), preferred_call_sign="Dima").call_sign == "Dima"


@pytest.mark.django_db
def test_a_call_sign_taken_under_a_homoglyph_is_not_granted_twice() -> None:
    create(preferred_call_sign="Caesar")
    lookalike = create(dict(DMITRY, given_names="Oleg"), preferred_call_sign="Саеsar")  # Cyrillic С, а, е
    assert lookalike.call_sign != "Саеsar"


@pytest.mark.django_db
def test_documents_are_checked_by_content_and_size_and_leave_nothing_when_refused() -> None:
    person = create()
    uploads = Path(settings.LEGIONARY_UPLOADS)
    before = sorted(uploads.rglob("*")) if uploads.exists() else []
    with pytest.raises(IdentityError, match="PDF, JPEG and PNG"):
        services.document_store(person=person, source=io.BytesIO(b"MZ\x90\x00 not a scan"))
    with pytest.raises(IdentityError, match="at most"):
        services.document_store(person=person, source=io.BytesIO(PDF + b" " * 200_000), max_bytes=100_000)
    after = sorted(p for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []
    assert [p for p in after if p not in before] == []
    assert not SealedDocument.objects.filter(person=person).exists()


@pytest.mark.django_db(transaction=True)
def test_a_stored_document_opens_to_the_same_bytes_and_is_encrypted_on_disk(officer: Staff) -> None:
    person = create()
    document = services.document_store(person=person, source=io.BytesIO(PDF))
    on_disk = (Path(settings.LEGIONARY_UPLOADS) / document.id[:2] / document.id).read_bytes()
    assert b"%PDF" not in on_disk and document.content_type == "application/pdf"
    sink = io.BytesIO()
    services.document_open(document=document, actor=Actor("sec", officer), reason="Verify passport", sink=sink)
    assert sink.getvalue() == PDF
    assert Entry.objects.filter(action="document.unsealed", subject=person.id).exists()


@pytest.mark.django_db
def test_a_person_sealed_before_the_transaction_is_stored_as_person_create_would(officer: Staff) -> None:
    """``person_seal`` then ``person_create(sealed=...)``: same indexes as sealing inside, and it opens."""
    sealed = services.person_seal(DMITRY)
    assert "Кузнецов" not in repr(sealed) and sealed.person_id in repr(sealed)
    person = create(sealed=sealed)
    assert person.id == sealed.person_id
    inline = create(dict(DMITRY))
    stored = set(BlindIndex.objects.filter(person=person).values_list("name", "key_version", "value"))
    again = set(BlindIndex.objects.filter(person=inline).values_list("name", "key_version", "value"))
    assert {(n, v, bytes(d)) for n, v, d in stored} == {(n, v, bytes(d)) for n, v, d in again}
    assert services._open_identity(person, services.key_provider()) == DMITRY
    assert dict(services.duplicate_candidates(inline))  # the two are found as one person


@pytest.mark.django_db
def test_a_batch_sealed_beforehand_stores_every_person_whole() -> None:
    from django.db import transaction

    items = [
        services.NewPerson(identity=DMITRY, legion="frl", external_ref="ref-1"),
        services.NewPerson(identity=dict(DMITRY, given_names="Иван", date_of_birth="1991-01-01"), legion="bel"),
    ]
    sealed = services.people_seal(items)
    with transaction.atomic():
        people = services.people_create_batch(items=items, actor=Actor("test"), sealed=sealed)
    assert [p.id for p in people] == [s.person_id for s in sealed]
    assert Person.objects.get(external_ref="ref-1").legion == "frl"
    for person, item in zip(people, items, strict=True):
        assert services._open_identity(person, services.key_provider()) == item.identity
        assert BlindIndex.objects.filter(person=person).count() == len(sealed[people.index(person)].index)
    assert Entry.objects.filter(action="person.created", subject__in=[p.id for p in people]).count() == 2
    with pytest.raises(IdentityError), transaction.atomic():
        services.people_create_batch(items=items, actor=Actor("test"), sealed=sealed[:1])


@pytest.mark.django_db(transaction=True)
def test_opening_a_document_needs_a_visible_reason(officer: Staff) -> None:
    document = services.document_store(person=create(), source=io.BytesIO(PDF))
    with pytest.raises(IdentityError, match="reason"):
        services.document_open(document=document, actor=Actor("sec", officer), reason="\u200b" * 6, sink=io.BytesIO())
    assert not Entry.objects.filter(action="document.unsealed").exists()


@pytest.mark.django_db
def test_possible_pairs_for_a_person_name_the_re_application_under_a_new_name_and_not_the_twin() -> None:
    first = create(dict(DMITRY, place_of_birth="Самара"))
    again = create(
        dict(
            DMITRY,
            given_names="Leonid",
            family_name="Maksimov",
            patronymic="Sergeevich",
            place_of_birth="Samara",
            documents=[],
            phone=None,
            email=None,
        )
    )
    twin = create(dict(DMITRY, given_names="Алексей", place_of_birth="Самара", documents=[], phone=None, email=None))
    both = ["patronymic+birth_date", "birthplace+birth_date"]
    # Birth date, patronymic and birthplace cannot tell the brothers apart: a person must look at both.
    assert dict(services.possible_pairs_for(again.id)) == {first.id: both, twin.id: both}
    assert services.duplicate_candidates(again) == []
    # The twins share their family name: neither grouped nor a possible pair.
    assert dict(services.possible_pairs_for(twin.id)) == {again.id: both}
    assert services.duplicate_candidates(twin) == []


@pytest.mark.django_db
def test_duplicates_json_lists_groups_and_possible_pairs_apart() -> None:
    create(DMITRY, external_ref="r-1")
    create(dict(DMITRY, given_names="DMITRII", family_name="KUZNETCOV", phone=None, email=None), external_ref="r-2")
    create(
        dict(
            DMITRY,
            given_names="Dmitriy",
            family_name="Kuznetsova",
            documents=[],
            phone=None,
            email=None,
            patronymic=None,
        ),
        external_ref="r-3",
    )
    out = io.StringIO()
    call_command("duplicates", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert [(sorted(g["members"]), g["reasons"]) for g in document["groups"]] == [
        (["r-1", "r-2"], ["document", "name+birth_date"])
    ]
    # The same name one letter off and no patronymic to confirm it: to review, beside the group.
    assert sorted((sorted(p["members"]), p["reasons"]) for p in document["possible"]) == [
        (["r-1", "r-3"], ["name_typo+birth_date"]),
        (["r-2", "r-3"], ["name_typo+birth_date"]),
    ]


@pytest.mark.django_db
def test_the_set_based_duplicates_give_the_same_tiers_as_the_rule_on_the_sample() -> None:
    data = Path(os.environ.get("LEGIONARY_SHARED_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
    if not (data / "dupes-sample.jsonl").exists():
        pytest.skip(f"sample not found under {data}")
    rows = [json.loads(line) for line in (data / "dupes-sample.jsonl").read_text(encoding="utf-8").splitlines()]
    with transaction.atomic():
        services.people_create_batch(
            items=[
                services.NewPerson(identity=r["identity"], legion=r["legion"], external_ref=r["external_ref"])
                for r in rows
            ],
            actor=Actor("test"),
        )
    analyze_after_bulk_load()
    ref = dict(Person.objects.values_list("id", "external_ref"))
    in_memory = matching.screen(services._index_stream())
    set_based = services.duplicate_screen(chunk=7)  # small chunks: many marker look-ups
    assert [(g.members, g.reasons) for g in set_based.groups] == [(g.members, g.reasons) for g in in_memory.groups]
    assert [(p.members, p.reasons) for p in set_based.possible] == [(p.members, p.reasons) for p in in_memory.possible]
    plain = matching.screen((r["external_ref"], matching.identity_tokens(r["identity"])) for r in rows)
    assert sorted(sorted(ref[m] for m in g.members) for g in set_based.groups) == sorted(
        sorted(g.members) for g in plain.groups
    )
    assert len(set_based.possible) == len(plain.possible) == 4

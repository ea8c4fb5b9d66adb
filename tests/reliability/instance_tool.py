"""Checks run *inside* a real instance (a subprocess with production settings), for the fault tests.

``python -m tests.reliability.instance_tool COMMAND`` with the instance's environment:

* ``attach``: stores one small PDF for every person who has none (through ``document_store``);
* ``open-all``: as a security officer, unseals every identity and opens every document through the
  audited services, and prints per person a hash of the identity (never the identity itself);
* ``audit-actions``: prints the action of every audit entry, in order;
* ``integrity``: prints the records that are only partly stored (a person without sealed identity,
  case, index rows or audit entry; an index or case without its person).

Output is one JSON document on stdout. Nothing here writes except ``attach`` and the audit
entries the unseals make.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legionary.settings")
    import django

    django.setup()
    # These checks are about whether restored data opens, not who may open it: every opening goes
    # through at once (break-glass alerts instead of holding) with no daily allowance, as the
    # ``openings_alert_policy`` fixture does in-process; the gate is tested in tests/vetting/test_openings.py.
    from django.conf import settings

    default = settings.LEGIONARY_OPENING_POLICY["default"]
    unlimited = {role: 10**9 for role in default["allowance"]}
    settings.LEGIONARY_OPENING_POLICY = {
        **settings.LEGIONARY_OPENING_POLICY,
        "default": {**default, "break_glass": "alert", "allowance": unlimited},
        "legions": {},
    }


def _pdf() -> bytes:
    from tests.identity.files import pdf

    return pdf()


def attach() -> dict[str, Any]:
    from legionary.identity.models import Person
    from legionary.identity.services import document_store

    stored = 0
    scan = _pdf()  # a real one: uploads are decoded in full before they are stored
    for person in Person.objects.filter(erased_at__isnull=True, documents__isnull=True).order_by("id"):
        document_store(person=person, source=io.BytesIO(scan + person.id.encode()))
        stored += 1
    return {"stored": stored}


def open_all() -> dict[str, Any]:
    from legionary.access.models import Staff
    from legionary.access.services import Scope, staff_add
    from legionary.identity.models import Person, SealedDocument
    from legionary.identity.services import Actor, document_open, unseal_identity

    staff = Staff.objects.filter(username="reliability-officer").first()
    if staff is None:
        staff, _password = staff_add(
            username="reliability-officer", roles=["security_officer"], scope=Scope(), actor="reliability-test"
        )
    actor = Actor(staff.get_username(), staff)
    identities: dict[str, str] = {}
    documents: dict[str, str] = {}
    erased = []
    for person in Person.objects.order_by("id"):
        if person.is_erased:
            erased.append(person.id)
            continue
        identity = unseal_identity(person=person, actor=actor, reason="reliability test: restored data opens")
        identities[person.id] = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        for document in SealedDocument.objects.filter(person=person).order_by("id"):
            sink = io.BytesIO()
            document_open(document=document, actor=actor, reason="reliability test: documents open", sink=sink)
            documents[document.id] = hashlib.sha256(sink.getvalue()).hexdigest()
    return {"identities": identities, "documents": documents, "erased": erased}


def integrity() -> dict[str, Any]:
    from legionary.audit.models import Entry
    from legionary.identity.models import BlindIndex, Person, SealedIdentity
    from legionary.vetting.models import Case

    live = Person.objects.filter(erased_at__isnull=True)
    audited = set(Entry.objects.filter(action="person.created").values_list("subject", flat=True))
    people = list(Person.objects.values_list("id", flat=True))
    return {
        "people": len(people),
        "without_identity": list(live.filter(sealed__isnull=True).values_list("id", flat=True)),
        "without_case": list(Person.objects.filter(case__isnull=True).values_list("id", flat=True)),
        "without_index": list(live.filter(blind_indexes__isnull=True).values_list("id", flat=True)),
        "without_audit": sorted(set(people) - audited),
        "orphan_identities": SealedIdentity.objects.exclude(person__in=Person.objects.all()).count(),
        "orphan_indexes": BlindIndex.objects.exclude(person__in=Person.objects.all()).count(),
        "orphan_cases": Case.objects.exclude(person__in=Person.objects.all()).count(),
        "external_refs": sorted(r for r in Person.objects.values_list("external_ref", flat=True) if r),
    }


def audit_actions() -> dict[str, Any]:
    from legionary.audit.models import Entry

    return {"actions": list(Entry.objects.order_by("index").values_list("action", flat=True))}


COMMANDS = {"attach": attach, "open-all": open_all, "integrity": integrity, "audit-actions": audit_actions}

if __name__ == "__main__":
    _setup()
    print(json.dumps(COMMANDS[sys.argv[1]]()))

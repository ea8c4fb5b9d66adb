"""What the purpose-bound gate (``identity.openings``, issue 21) adds to an ordinary opening.

An investigator opens the identity of a person whose check is assigned to him (the everyday case),
``--runs`` times through ``services.unseal_identity`` (with the gate: the assignment lookup, the
day's count against the allowance, the ``Opening`` row) and as many times through the same steps
without the gate (``ungated``: the body ``unseal_identity`` had before the gate: permission and
scope, the reason, the committed audit entry, the decryption), alternating the two so that both
see the same database and cache state. Prints p50, p95 and the mean of each in milliseconds and the
difference, then what the step-up check (``access.stepup.step_up_due``) adds to each opening view
within its window; nothing is asserted.

    python bench/bench_openings.py [--runs 300]
    python -m tests.pgserver -- python bench/bench_openings.py

Runs in a fresh temporary LEGIONARY_HOME (SQLite unless ``DATABASE_URL`` is set), removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
HOME = Path(tempfile.mkdtemp(prefix="legionary-bench-openings-"))
os.environ["LEGIONARY_HOME"] = str(HOME)
for _variable in (
    "LEGIONARY_KEYRING",
    "LEGIONARY_AUDIT_KEY",
    "LEGIONARY_SECRET_KEY_FILE",
    "LEGIONARY_KEYRING_PASSPHRASE",
):
    os.environ.pop(_variable, None)  # never reach a real keyring, audit key or secret
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from legionary.access.models import RoleGrant, Staff  # noqa: E402
from legionary.access.roles import Role  # noqa: E402
from legionary.audit.services import audit_record, signing_key_init  # noqa: E402
from legionary.core.reasons import visible_reason  # noqa: E402
from legionary.identity import services  # noqa: E402
from legionary.identity.models import Person  # noqa: E402
from legionary.intake.schema import validate_application  # noqa: E402
from legionary.intake.services import Channel, application_submit  # noqa: E402
from legionary.vetting import services as vetting  # noqa: E402
from tests.intake.helpers import application  # noqa: E402


def ungated(person: Person, actor: services.Actor, reason: str) -> dict[str, object]:
    """``unseal_identity`` as it was before the gate (the baseline)."""
    services._require(actor, services.Perm.UNSEAL_IDENTITY, person)
    reason = visible_reason(reason)
    with transaction.atomic():
        audit_record(actor=actor.name, action="identity.unsealed", subject=person.id, details={"reason": reason[:500]})
    return services._open_identity(person, services.key_provider())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    services.keyring_init()
    signing_key_init()
    # The bench opens far more than a day's allowance: lift it so every opening is an ordinary one.
    settings.LEGIONARY_OPENING_POLICY = {
        "default": {**settings.LEGIONARY_OPENING_POLICY["default"], "allowance": {"investigator": 10**9}},
        "legions": {},
    }
    intake = Staff.objects.create_user(username="bench-intake")
    RoleGrant.objects.create(staff=intake, role=Role.INTAKE_OFFICER)
    investigator = Staff.objects.create_user(username="bench-investigator")
    RoleGrant.objects.create(staff=investigator, role=Role.INVESTIGATOR)
    case = application_submit(
        application=validate_application(application(external_ref="bench-1")), channel=Channel.IMPORT
    ).case
    vetting.vetting_start(case_id=case.pk, actor=intake)
    check = case.checks.get(check_type_id="identity")
    vetting.check_assign(check_id=check.pk, assignee=investigator, actor=intake)
    actor = services.Actor(investigator.username, investigator)
    person = case.person
    reason = "Confirm the passport number for the identity check"
    for _warm in range(20):
        services.unseal_identity(person=person, actor=actor, reason=reason)
        ungated(person, actor, reason)
    gated_ms: list[float] = []
    plain_ms: list[float] = []
    for _n in range(args.runs):
        start = time.perf_counter()
        services.unseal_identity(person=person, actor=actor, reason=reason)
        gated_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        ungated(person, actor, reason)
        plain_ms.append((time.perf_counter() - start) * 1000)

    def line(name: str, ms: list[float]) -> str:
        p95 = statistics.quantiles(ms, n=20)[-1]
        p50, mean = statistics.median(ms), statistics.fmean(ms)
        return f"{name:<24} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   mean {mean:7.2f} ms"

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"assigned openings by an investigator, {args.runs} each, alternating ({engine})")
    print(line("without the gate", plain_ms))
    print(line("with the gate", gated_ms))
    print(
        f"the gate adds: p50 {statistics.median(gated_ms) - statistics.median(plain_ms):+.2f} ms, "
        f"mean {statistics.fmean(gated_ms) - statistics.fmean(plain_ms):+.2f} ms"
    )
    # Step-up (access.stepup): what every opening view asks before opening, within the window (the
    # everyday case; past it the person types a code, which is his time, not the server's). The
    # session is the real database-backed one the views read (loaded once per request anyway).
    from django.contrib.sessions.backends.db import SessionStore

    from legionary.access.stepup import second_factor_verified, step_up_due

    session = SessionStore()
    second_factor_verified(session)
    session.save()
    session = SessionStore(session_key=session.session_key)
    session.load()
    checks = 100_000
    start = time.perf_counter()
    for _n in range(checks):
        step_up_due(session)
    each_us = (time.perf_counter() - start) / checks * 1e6
    print(f"the step-up check adds: {each_us:.2f} µs per opening ({checks:,} checks of a loaded session)")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(HOME, ignore_errors=True)

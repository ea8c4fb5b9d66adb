"""The shipped check catalogue and default legion policies (``fixtures/checks.json``).

Responsible for loading them after every ``migrate`` (``legionary init`` runs it), creating only
what is missing: an administrator's edits to a policy are never overwritten. Must never remove or
change a check type or policy that exists, and holds no case data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from legionary.vetting.models import CheckType, LegionCheckPolicy, PolicyCheck

CHECKS_FIXTURE = Path(__file__).parent / "fixtures" / "checks.json"
DEFAULT_POLICY = "*"

# Translatable names of the shipped check types (types an administrator adds show their stored name).
CHECK_TYPE_NAMES: dict[str, Promise] = {
    "identity": _("Identity and document verification"),
    "background": _("Criminal-record and open-source background check"),
    "references": _("References"),
    "interview": _("Interview"),
    "psychologist": _("Psychologist's assessment (motivation, stability, discipline, alcohol)"),
    "polygraph": _("Polygraph examination"),
    "medical": _("Medical fitness"),
    "ci_review": _("Counter-intelligence review"),
    "sanctions": _("Designation and sanctions screening"),
}


def check_type_name(check_type: CheckType) -> str:
    return str(CHECK_TYPE_NAMES.get(check_type.slug, check_type.name))


def catalogue_load(path: Path = CHECKS_FIXTURE) -> tuple[int, int]:
    """Creates the missing check types and policies from ``path``; returns (types, policies) created.

    Not audited: these are the shipped defaults, put in place by ``migrate``, not a staff decision.
    Changes to a policy go through ``services.legion_policy_set``, which is.
    """
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    types_created = policies_created = 0
    with transaction.atomic():
        for item in data["check_types"]:
            _, created = CheckType.objects.get_or_create(
                slug=item["slug"],
                defaults={
                    "name": item["name"],
                    "role": item["role"],
                    "due_days": item.get("due_days", 14),
                    "is_polygraph": item.get("is_polygraph", False),
                    "is_ci_review": item.get("is_ci_review", False),
                },
            )
            types_created += created
        for item in data["policies"]:
            if LegionCheckPolicy.objects.filter(legion=item["legion"]).exists():
                continue
            policy = LegionCheckPolicy.objects.create(
                legion=item["legion"],
                ci_review=item["ci_review"],
                retention_days=item["retention_days"],
                updated_at=timezone.now(),
            )
            PolicyCheck.objects.bulk_create(
                PolicyCheck(policy=policy, check_type_id=slug, position=n) for n, slug in enumerate(item["checks"])
            )
            policies_created += 1
    return types_created, policies_created


def policy_for(legion: str) -> LegionCheckPolicy:
    """The legion's own policy, or the default one (one query for both)."""
    found = {p.legion: p for p in LegionCheckPolicy.objects.filter(legion__in=[legion, DEFAULT_POLICY])}
    policy = found.get(legion) or found.get(DEFAULT_POLICY)
    if policy is None:
        raise LegionCheckPolicy.DoesNotExist(f"No vetting policy for {legion!r} and no default one.")
    return policy

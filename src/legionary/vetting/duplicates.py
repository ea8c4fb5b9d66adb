"""What counter-intelligence officers concluded about possible duplicates, applied to the screening's groups.

``legionary duplicates`` finds groups from blind indexes only; a CI officer who compared two
records may have said more: "the same person" (the pair belongs together, even where the indexes
alone did not group them) or "different people" (a group of just those two is dropped). This
module applies those conclusions to the groups, by pseudonymous id; it reads no sealed value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from legionary.vetting.models import FlagResolution, ScreeningFlag


@dataclass
class ResolvedGroup:
    members: list[str]
    reasons: list[str]
    confirmed: bool = False
    origin: int | None = None  # the position of the screening's group it comes from; None: made by a conclusion


@dataclass
class Resolved:
    groups: list[ResolvedGroup] = field(default_factory=list)
    dismissed: list[tuple[str, str]] = field(default_factory=list)


def resolution_pairs() -> list[tuple[str, str, str]]:
    """(person, other person, resolution) of every resolved flag: as many as officers concluded."""
    return list(
        ScreeningFlag.objects.exclude(resolution="").values_list("case__person_id", "matched_person_id", "resolution")
    )


def apply_resolutions(groups: list[tuple[list[str], list[str]]]) -> Resolved:
    """The screening's groups (members, reasons) with every resolved flag applied; one query."""
    return resolve(groups, resolution_pairs())


def resolve(groups: list[tuple[list[str], list[str]]], pairs: list[tuple[str, str, str]]) -> Resolved:
    """The groups with each (person, other person, resolution) applied, in order; no database.

    A conclusion changes only the groups that hold one of its two people, so ``groups`` may be
    just those (``legionary duplicates`` streams the others as they are): the groups that stay
    keep their order and their ``origin``, the groups a conclusion makes come after them.
    """
    out = [ResolvedGroup(list(members), list(reasons), origin=n) for n, (members, reasons) in enumerate(groups)]
    where = {m: g for g in out for m in g.members}
    dismissed: list[tuple[str, str]] = []
    for a, b, resolution in pairs:
        if resolution == FlagResolution.DIFFERENT_PEOPLE:
            dismissed.append((a, b))
            group = where.get(a)
            if group is not None and set(group.members) == {a, b}:
                out.remove(group)
                where.pop(a, None)
                where.pop(b, None)
            continue
        left, right = where.get(a), where.get(b)
        if left is None and right is None:
            group = ResolvedGroup([a, b], ["confirmed"], confirmed=True)
            out.append(group)
            where[a] = where[b] = group
        elif left is right and left is not None:
            left.confirmed = True
        else:
            # One side grouped, or each in its own group: the person's conclusion joins them.
            keep, other = (left, right) if left is not None else (right, None)
            if keep is None:  # unreachable: handled above; keeps the type checker sure
                continue
            for member in [a, b] + (other.members if other is not None else []):
                if member not in keep.members:
                    keep.members.append(member)
                where[member] = keep
            if other is not None and other is not keep:
                out.remove(other)
                keep.reasons = sorted(set(keep.reasons) | set(other.reasons))
            if "confirmed" not in keep.reasons:
                keep.reasons.append("confirmed")
            keep.confirmed = True
    return Resolved(groups=out, dismissed=dismissed)

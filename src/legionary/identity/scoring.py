"""Pairwise precision and recall of duplicate groups against a known truth.

A pair of records is *predicted* when both are in one group, and *true* when the truth puts
them in one cluster. The counts are computed from group and cluster sizes, never by listing
pairs, so scoring a million records costs one pass. Records missing from the truth are taken
to be people of their own (any pair with them is a false positive).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["PairwiseScore", "pairwise_score"]

Ref = TypeVar("Ref", bound=Hashable)
Cluster = TypeVar("Cluster", bound=Hashable)


@dataclass(frozen=True)
class PairwiseScore:
    """Pair counts and the ratios derived from them (1.0 when there is nothing to get wrong)."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _pairs(size: int) -> int:
    return size * (size - 1) // 2


def pairwise_score(groups: Iterable[Iterable[Ref]], truth: Mapping[Ref, Cluster]) -> PairwiseScore:
    """Score predicted ``groups`` (each an iterable of refs) against ``truth`` (ref -> cluster id).

    A ref listed in two groups counts in both, which inflates the predicted pairs: groups from
    ``find_groups`` never do that.
    """
    predicted = 0
    true_positives = 0
    for group in groups:
        members = list(group)
        predicted += _pairs(len(members))
        # refs absent from the truth are people of their own: they add no true pair
        clusters = Counter(truth[ref] for ref in members if ref in truth)
        true_positives += sum(_pairs(n) for n in clusters.values())
    actual = sum(_pairs(n) for n in Counter(truth.values()).values())
    return PairwiseScore(
        true_positives=true_positives,
        false_positives=predicted - true_positives,
        false_negatives=actual - true_positives,
    )

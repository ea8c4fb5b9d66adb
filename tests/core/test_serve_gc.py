"""The served workers freeze their warm heap once (``legionary serve``'s ``post_request`` hook), so
that a full garbage collection walks what requests allocate, not Django and our compiled templates
(docs/benchmarks.md: such collections set the dashboard's p95 at 210k people)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from legionary.core.management.commands import serve


@pytest.fixture
def fresh_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(serve, "_answered", 0)
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_worker_freezes_its_heap_once_after_its_warm_up_requests(fresh_worker: None) -> None:
    for _n in range(serve.WARM_UP_REQUESTS - 1):
        serve.freeze_after_warm_up(None, None, {}, None)
    assert gc.get_freeze_count() == 0
    serve.freeze_after_warm_up(None, None, {}, None)
    frozen = gc.get_freeze_count()
    assert frozen > 0
    garbage = [[n] for n in range(1000)]  # allocated after: not frozen, and no second freeze
    for _n in range(serve.WARM_UP_REQUESTS * 2):
        serve.freeze_after_warm_up(None, None, {}, None)
    assert gc.get_freeze_count() == frozen
    del garbage

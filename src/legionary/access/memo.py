"""Reads remembered for the length of one gathering (My work's sections, the navigation counts).

A page that asks many selectors the same question (which grants does this staff member hold, which
cohorts may he grade) would otherwise send the same query once per selector: My work for a person
holding every role sent the grants query 15 times. Inside ``with remembering():`` the first answer
to each key is kept and reused; outside it nothing is kept, so a write followed by a read always
reads afresh (and no answer outlives the block, nor is shared between threads: a ContextVar).
Only for reads that cannot change during the block.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_MEMO: ContextVar[dict[Hashable, Any] | None] = ContextVar("legionary_memo", default=None)


@contextmanager
def remembering() -> Iterator[None]:
    """Keep answers of ``remembered`` until the block ends (an outer block's answers are reused)."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, once per ``key`` inside ``remembering()``; every time outside it."""
    memo = _MEMO.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[no-any-return]

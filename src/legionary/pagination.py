"""Keyset pagination for every staff list and API list: no OFFSET, no COUNT(*).

A page is the first ``limit`` rows of a queryset in a fixed total order (the last key must be
unique, normally the primary key); the next page starts strictly after the last row's key, so page
1000 costs what page 1 costs, provided an index serves the order. The cursor handed to the client
is opaque (URL-safe base64 of a small JSON document naming the order and holding the key values);
a cursor that does not decode, or that belongs to another order, raises ``BadCursor``, which views
answer with 400 and the API with a 400 problem, never a 500.

Must never: put anything but the ordering keys (call signs, pseudonymous ids, dates, numbers) in a
cursor, or evaluate more than ``limit + 1`` rows.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)

_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")
MAX_CURSOR = 512
"""Longest cursor accepted (a real one is well under 200 characters)."""


class BadCursor(ValueError):
    """The cursor is malformed, or was made for another list."""

    def __init__(self) -> None:
        super().__init__("The cursor is not valid for this list; start again from the first page.")


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: list[M]
    next: str | None
    """The cursor of the next page (pass it back as ``after``); None on the last page."""
    previous: str | None = None
    """The cursor of the previous page (pass it back as ``before``); None on the first page."""


def _value(row: Any, field: str) -> Any:
    for part in field.split("__"):
        row = getattr(row, part)
    return row


def _tag(value: Any) -> list[Any]:
    if isinstance(value, datetime.datetime):
        return ["t", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["d", value.isoformat()]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"cannot put {type(value).__name__} in a cursor")
    return ["i" if isinstance(value, int) else "s", value]


def _untag(item: Any) -> Any:
    if not isinstance(item, list) or len(item) != 2:
        raise BadCursor
    tag, raw = item
    try:
        if tag == "i" and isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if tag == "s" and isinstance(raw, str):
            return raw
        if tag == "t" and isinstance(raw, str):
            moment = datetime.datetime.fromisoformat(raw)
            if moment.tzinfo is None:
                raise BadCursor
            return moment
        if tag == "d" and isinstance(raw, str):
            return datetime.date.fromisoformat(raw)
    except ValueError:
        raise BadCursor from None
    raise BadCursor


def _order_name(order: Sequence[str]) -> str:
    return ",".join(order)


def encode_cursor(order: Sequence[str], values: Sequence[Any]) -> str:
    document = json.dumps({"o": _order_name(order), "v": [_tag(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode("ascii").rstrip("=")


def decode_cursor(order: Sequence[str], cursor: str) -> list[Any]:
    """The key values in ``cursor``, checked against ``order``; ``BadCursor`` if it is not one of ours."""
    if not cursor or len(cursor) > MAX_CURSOR or not _CURSOR_TEXT.fullmatch(cursor):
        raise BadCursor  # (base64 decoding would skip stray characters: a cursor is its alphabet only)
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise BadCursor from None
    if not isinstance(document, dict) or document.get("o") != _order_name(order):
        raise BadCursor
    items = document.get("v")
    if not isinstance(items, list) or len(items) != len(order):
        raise BadCursor
    return [_untag(item) for item in items]


def after_keys(order: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after ``values`` in ``order``: a >= x and ((a > x) or (a = x and b > y) or ...)."""
    where = Q(pk__in=[])
    for depth, field in enumerate(order):
        name = field.removeprefix("-")
        step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": values[depth]})
        for earlier, value in zip(order[:depth], values[:depth], strict=True):
            step &= Q(**{earlier.removeprefix("-"): value})
        where |= step
    if len(order) > 1 and values[0] is not None:
        # The same rows, with the first key's bound stated on its own (a >= x): a database reads
        # that as a range of the index instead of filtering every row from the start of it (a page
        # back in the case list walked 92,000 cases at a million people).
        first = order[0]
        where = Q(**{f"{first.removeprefix('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]}) & where
    return where


def flipped(order: Sequence[str]) -> list[str]:
    return [key.removeprefix("-") if key.startswith("-") else f"-{key}" for key in order]


def _cursor_of(row: Any, order: Sequence[str]) -> str:
    return encode_cursor(order, [_value(row, f.removeprefix("-")) for f in order])


def keyset_page(
    queryset: QuerySet[M], order: Sequence[str], *, after: str | None, limit: int, before: str | None = None
) -> KeysetPage[M]:
    """One page of ``queryset`` in ``order`` (the last key unique), starting after the cursor ``after``
    (or ending before the cursor ``before``: the page before, read backwards on the same index).

    Either way one query of ``limit + 1`` rows. ``previous`` is set on every page but the first that
    can tell (a page reached by ``after`` always has one; a page reached by ``before`` when more rows
    precede it). Raises ``BadCursor`` for a cursor that is not one of ours for this order.
    """
    if before and not after:
        backwards = flipped(order)
        rows = list(
            queryset.order_by(*backwards).filter(after_keys(backwards, decode_cursor(order, before)))[: limit + 1]
        )
        more = len(rows) > limit
        rows = rows[:limit][::-1]
        if not rows:
            return KeysetPage(rows, None)
        return KeysetPage(rows, _cursor_of(rows[-1], order), _cursor_of(rows[0], order) if more else None)
    ordered = queryset.order_by(*order)
    if after:
        ordered = ordered.filter(after_keys(order, decode_cursor(order, after)))
    rows = list(ordered[: limit + 1])
    previous = _cursor_of(rows[0], order) if after and rows else None
    if len(rows) <= limit:
        return KeysetPage(rows, None, previous)
    rows = rows[:limit]
    return KeysetPage(rows, _cursor_of(rows[-1], order), previous)

"""A test helper that fails when a page's SQL query count grows with the data (an N+1, or a list
that is not paginated).

``QueryCounter.measure`` renders each URL through a signed-in client and records its query count
(and checks it answered 200, so that a 404 page cannot pass by doing nothing); ``grow`` is called
to add data in the viewer's scope; ``assert_flat`` renders again and fails naming every page whose
count went up. Counting is by Django's ``CaptureQueriesContext``, so it holds on SQLite and
PostgreSQL alike; no time is measured.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def queries_for(client: Client, url: str) -> list[str]:
    """The SQL of the queries one GET of ``url`` costs; fails unless it answers 200."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, secure=True)
    assert response.status_code == 200, f"{url} answered {response.status_code}, not 200"
    return [q["sql"] for q in captured.captured_queries]


def _shape(sql: str) -> str:
    """A query with its literals blanked, so that the same statement with other ids compares equal."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)[:300]


@dataclass
class QueryCounter:
    """Query counts of pages before and after the data grows."""

    client: Client
    urls: list[str]
    slack: dict[str, int] = field(default_factory=dict)
    """Growth allowed per URL, each with its reason at the call site (e.g. an O(log n) audit append)."""
    before: dict[str, list[str]] = field(default_factory=dict)

    def measure(self) -> dict[str, int]:
        self.before = {url: queries_for(self.client, url) for url in self.urls}
        return {url: len(sql) for url, sql in self.before.items()}

    def grown(self) -> list[str]:
        """The pages whose query count grew since ``measure``: 'url: n -> m queries' and the new ones."""
        grown = []
        for url in self.urls:
            after = queries_for(self.client, url)
            if len(after) > len(self.before[url]) + self.slack.get(url, 0):
                extra = Counter(_shape(q) for q in after) - Counter(_shape(q) for q in self.before[url])
                shown = "".join(f"\n    {n} x {shape}" for shape, n in extra.most_common(3))
                grown.append(f"{url}: {len(self.before[url])} -> {len(after)} queries{shown}")
        return grown


def assert_queries_flat(
    client: Client, urls: Iterable[str], grow: Callable[[], None], *, slack: dict[str, int] | None = None
) -> dict[str, int]:
    """Renders ``urls``, calls ``grow``, renders them again; fails naming each page whose count grew
    (by more than its ``slack``, if it has one).

    Returns the counts at the first size (for a report or a tighter check by the caller).
    """
    counter = QueryCounter(client, list(urls), slack=dict(slack or {}))
    counts = counter.measure()
    grow()
    grown = counter.grown()
    assert not grown, "query count grew with the data (N+1 or an unbounded list):\n" + "\n".join(grown)
    return counts

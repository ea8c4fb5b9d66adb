"""Every URL pattern and API route of the project, with example arguments, for the access tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

# "1" fits int, str, slug and path converters alike, and ninja path parameters typed as int.
EXAMPLE_ARGS = {"int": "1", "str": "1", "slug": "1", "path": "1", "uuid": "00000000-0000-0000-0000-000000000000"}


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    callback: Any


def _example(pattern: str, converters: dict[str, Any]) -> str:
    import re

    def fill(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return EXAMPLE_ARGS.get(converter, "1")

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, pattern)


def all_routes() -> Iterator[Route]:
    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                full = prefix + str(entry.pattern)
                name = f"{namespace}{entry.name}" if entry.name else full
                yield Route(name=name, path="/" + _example(full, {}).lstrip("^").rstrip("$"), callback=entry.callback)

    yield from walk(get_resolver().url_patterns, "", "")

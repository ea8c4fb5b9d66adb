"""Searches everything at rest for plaintext identity values: the test behind "no plaintext
identity may reach the database, a log line, an export or a backup".

``identity_needles`` lists the values of applications worth searching for (names, document
numbers, phones, e-mails, places, addresses, next of kin), and ``find_plaintext`` looks for each,
as UTF-8, UTF-16 and lower case, in every row of every table (any database), in the SQLite files
themselves (with ``-wal`` and ``-shm``), in uploads, logs and any extra files given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

MIN_NEEDLE = 4
# Short runs of digits (parts of a document number) also occur in timestamps and ids; a whole
# number of seven digits or more does not occur by chance.
MIN_DIGITS = 7


def identity_needles(identities: Iterable[Mapping[str, Any]]) -> set[str]:
    needles: set[str] = set()

    def keep(text: str) -> None:
        if len(text) >= (MIN_DIGITS if text.isdigit() else MIN_NEEDLE):
            needles.add(text)

    def add(value: object) -> None:
        if isinstance(value, str):
            keep(value.strip())
            for word in re.split(r"[\s,]+", value.strip()):
                keep(word)

    for identity in identities:
        for key in ("given_names", "family_name", "patronymic", "place_of_birth", "email", "address"):
            add(identity.get(key))
        for other in identity.get("other_names") or []:
            add(other)
        phone = identity.get("phone")
        if isinstance(phone, str):
            add(phone)
            digits = re.sub(r"\D", "", phone)
            if len(digits) >= 7:
                needles.add(digits)
        for document in identity.get("documents") or []:
            add(document.get("number"))
            compact = re.sub(r"[\s\-№]", "", document.get("number", ""))
            if len(compact) >= 6:
                needles.add(compact)
        for kin in identity.get("next_of_kin") or []:
            add(kin.get("name"))
            add(kin.get("phone"))
            add(kin.get("address"))
    return needles


def _generic(needle: str) -> bool:
    """A short needle inside a call-sign word ("Petr" in "Petrel") proves nothing."""
    from legionary.identity.callsigns import WORDS

    return any(needle.lower() in word.lower() for word in WORDS)


def _encodings(needle: str) -> list[bytes]:
    # Short needles in other letter cases turn up by chance in random lowercase ids and hashes.
    forms = {needle, needle.lower(), needle.upper()} if len(needle) >= 6 else {needle}
    out: list[bytes] = []
    for form in forms:
        out.append(form.encode("utf-8"))
        out.append(form.encode("utf-16-le"))
    return out


def _database_bytes() -> bytes:
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 — table names from introspection
            for row in cursor.fetchall():
                for cell in row:
                    if isinstance(cell, (bytes, bytearray, memoryview)):
                        chunks.append(bytes(cell))
                    elif cell is not None:
                        chunks.append(str(cell).encode("utf-8"))
    return b"\x00".join(chunks)


def _files(extra: Iterable[Path]) -> list[Path]:
    home = Path(settings.LEGIONARY_HOME)
    files: list[Path] = []
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        files += [Path(name + suffix) for suffix in ("", "-wal", "-shm")]
    for folder in (Path(settings.LEGIONARY_UPLOADS), home / "logs"):
        if folder.exists():
            files += [p for p in folder.rglob("*") if p.is_file()]
    files += list(extra)
    return [f for f in files if f.exists()]


def find_plaintext(needles: Iterable[str], extra_files: Iterable[Path] = ()) -> list[tuple[str, str]]:
    """Every (needle, where) found; an empty list means nothing leaked."""
    haystacks: dict[str, bytes] = {"database rows": _database_bytes()}
    for path in _files(extra_files):
        haystacks[str(path)] = path.read_bytes()
    return search(needles, haystacks)


def search(needles: Iterable[str], haystacks: Mapping[str, bytes]) -> list[tuple[str, str]]:
    """Every (needle, where) found in ``haystacks`` (where → bytes), in each encoding; [] means none."""
    hits = []
    for needle in sorted(set(needles)):
        if _generic(needle):
            continue
        for form in _encodings(needle):
            for where, data in haystacks.items():
                if form in data:
                    hits.append((needle, where))
    return sorted(set(hits))

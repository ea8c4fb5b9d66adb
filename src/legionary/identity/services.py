"""Sealing, unsealing, blind indexes, key rotation and erasure: the only holder of plaintext identity.

Everything outside ``legionary.identity`` reaches identities through the functions here. They:

* seal an identity (JSON) under a fresh per-person data key, wrapped by the current KEK version;
* index it with truncated keyed HMACs of normalised values (``matching.identity_tokens``), so that
  duplicates are found without decrypting;
* unseal only for an actor holding the unseal permission in scope, with a reason, *after* the audit
  entry has been committed;
* rotate the KEK (rewrap only) and the index key (re-index, needs plaintext), in resumable batches;
* erase a person by destroying his data key, sealed blobs, files and index rows.

Never log, cache or put plaintext, keys or wrapped keys in an exception message. A value that does
not open raises ``SealBrokenError``; nothing here ever returns ciphertext as if it were a value.
"""

from __future__ import annotations

import base64
import errno
import functools
import io
import itertools
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from legionary.access.roles import Perm
from legionary.audit.services import AuditItem, audit_record, audit_record_many
from legionary.core.reasons import visible_reason
from legionary.db import (
    insert_instances,
    insert_rows,
    insert_together,
    insert_unless_taken,
    insert_values,
    instances_insert,
    rows_insert,
)
from legionary.identity import callsigns, crypto, documents, erasure_journal, matching, names, openings
from legionary.identity.keyring import (
    FileKeyProvider,
    KeyProvider,
    KeyringError,
    KeyVersionError,
    add_index_key_version,
    add_kek_version,
    create_keyring,
    passphrase_from_env,
)
from legionary.identity.models import BlindIndex, Person, SealedDocument, SealedIdentity, SealedRecord

# Truncated index width in bytes (see docs/security.md, "Blind indexes").
INDEX_WIDTH = 4
# Blind-index rows are inserted as (person id, index name, key version, digest) tuples: about 25 a
# person, a tenth of the cost of building model instances for them.
INDEX_COLUMNS = ("person", "name", "key_version", "value")
IDENTITY_KIND = "identity"
DEK_GENERATION = 1
DOCUMENT_TYPES = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


class IdentityError(Exception):
    """An identity operation was refused; the message says why, and never holds plaintext."""


class DocumentNotStored(IdentityError):
    """The server could not store a document (disk full, quota); nothing of it was kept."""


class NotPermitted(IdentityError):
    """The actor may not do this to this person."""


class ReasonMissing(IdentityError):
    """No reason, or one without visible letters, was given for opening sealed data."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff account (checked for permissions) or a named system process."""

    name: str
    staff: Any = None


# --- the key provider ---------------------------------------------------------------------------

_provider_lock = threading.Lock()
_provider: tuple[float, KeyProvider] | None = None


def key_provider() -> KeyProvider:
    """The keyring, loaded once per process and again whenever the file changes (rotation)."""
    global _provider
    path = Path(settings.LEGIONARY_KEYRING)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    with _provider_lock:
        if _provider is None or _provider[0] != mtime:
            _provider = (mtime, FileKeyProvider.from_file(path, passphrase_from_env()))
        return _provider[1]


def keyring_init() -> bool:
    """Creates the keyring if there is none; never touches an existing one. True if created."""
    path = Path(settings.LEGIONARY_KEYRING)
    if path.exists():
        key_provider()  # proves it opens with the given passphrase
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    create_keyring(path, passphrase_from_env())
    return True


def check_keyring_ready() -> None:
    """Raises ``IdentityError`` with what to do when the keyring is missing, does not open, or is
    not this database's (it cannot unwrap the newest stored data key)."""
    newest = SealedIdentity.objects.order_by("-updated_at").first()
    try:
        provider = key_provider()
    except KeyringError as exc:
        if newest is not None:
            raise IdentityError(
                f"The keyring cannot be used ({exc}), and the database holds sealed identities that only "
                "this instance's keyring opens: put it back from your keyring backup (a new keyring from "
                "`legionary init` would open none of them)."
            ) from None
        raise IdentityError(f"The keyring cannot be used: {exc}") from None
    if newest is not None:
        try:
            provider.unwrap_dek(newest.kek_version, bytes(newest.wrapped_dek), _aad(newest.person_id))
        except (KeyringError, crypto.SealBrokenError):
            raise IdentityError(
                f"The keyring at {settings.LEGIONARY_KEYRING} does not open this database's data keys: it is "
                "another instance's keyring or an old copy. Put back this instance's keyring (from your "
                "keyring backup)."
            ) from None


def check_keyring_opens(samples: Mapping[int, tuple[str, bytes]]) -> None:
    """Raises ``IdentityError`` unless the installed keyring opens one wrapped data key of every
    key-encryption-key version in ``samples`` ({version: (person id, wrapped key)}): a restore asks
    this of the archive's data keys before it writes anything. The message names the version."""
    try:
        provider = key_provider()
    except KeyringError as exc:
        raise IdentityError(f"The keyring cannot be used: {exc}") from None
    for version, (person_id, wrapped) in sorted(samples.items()):
        try:
            provider.unwrap_dek(version, wrapped, _aad(person_id))
        except KeyVersionError:
            raise IdentityError(
                f"The keyring at {settings.LEGIONARY_KEYRING} has no key-encryption key version {version}, which "
                "this backup's data keys need: it is a copy from before a `keys rotate`. Put back the keyring "
                "saved after that rotation, then restore again."
            ) from None
        except (KeyringError, crypto.SealBrokenError):
            raise IdentityError(
                f"The keyring at {settings.LEGIONARY_KEYRING} does not open this backup's data keys of "
                f"key-encryption key version {version}: it is another instance's keyring. Put back the keyring "
                "of the instance the backup was made on, then restore again."
            ) from None


# --- people and sealing ------------------------------------------------------------------------


def new_person_id() -> str:
    """A random pseudonymous id (100 bits), never sequential: ``p`` + 20 base32 letters."""
    return "p" + base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()[:20]


def _aad(person_id: str) -> bytes:
    return crypto.canonical_aad("dek", person_id)


def _name_skeletons(identity: Mapping[str, Any]) -> set[str]:
    parts: list[str] = []
    for key in ("given_names", "family_name", "patronymic"):
        value = identity.get(key)
        if isinstance(value, str):
            parts.extend(value.split())
    for other in identity.get("other_names") or []:
        parts.extend(str(other).split())
    return {names.skeleton(p) for p in parts}


def choose_call_sign(preferred: str | None, identity: Mapping[str, Any]) -> str:
    """The preferred call sign if usable and free, otherwise a free one from the word list."""
    if preferred:
        try:
            tidy = callsigns.check_call_sign(preferred)
        except callsigns.CallSignError:
            tidy = ""
        if (
            tidy
            # The name skeletons are computed only when there is a preference to compare.
            and not callsigns.is_identifying(tidy, _name_skeletons(identity), names.skeleton)
            and not Person.objects.filter(call_sign_key=callsigns.call_sign_key(tidy)).exists()
        ):
            return tidy
    generator = iter(callsigns.generated_call_signs())
    while True:
        # One query checks a whole batch of candidates instead of one query per guess.
        batch = {callsigns.call_sign_key(c): c for c in itertools.islice(generator, 16)}
        taken = set(Person.objects.filter(call_sign_key__in=list(batch)).values_list("call_sign_key", flat=True))
        for key, candidate in batch.items():
            if key not in taken:
                return candidate


_indexers_cache: tuple[KeyProvider, int, dict[str, tuple[int, crypto.BlindIndexer]]] | None = None


def _indexers(provider: KeyProvider) -> dict[str, tuple[int, crypto.BlindIndexer]]:
    """Index name -> (current key version, keyed HMAC), filled on first use of each index.

    The key is derived and keyed once per provider and key version; each value then costs one
    copy of the keyed state. A new provider (the keyring file changed) or a new current index key
    version starts a fresh table.
    """
    global _indexers_cache
    cache = _indexers_cache
    current = provider.current_index_key_version()
    if cache is None or cache[0] is not provider or cache[1] != current:
        cache = _indexers_cache = (provider, current, {})
    return cache[2]


def _indexer(
    table: dict[str, tuple[int, crypto.BlindIndexer]], provider: KeyProvider, index_name: str
) -> tuple[int, crypto.BlindIndexer]:
    found = table.get(index_name)
    if found is None:
        version, key = provider.index_key(index_name)
        found = table[index_name] = (version, crypto.BlindIndexer(key, width=INDEX_WIDTH))
    return found


def _index_values(identity: Mapping[str, Any], provider: KeyProvider) -> list[tuple[str, int, bytes]]:
    """(index name, key version, truncated HMAC) for every token of an identity, deduplicated."""
    values: list[tuple[str, int, bytes]] = []
    seen: set[tuple[str, bytes]] = set()
    table = _indexers(provider)
    for name, value in matching.identity_tokens(dict(identity)):
        version, index = table.get(name) or _indexer(table, provider, name)
        digest = index(value)
        if (name, digest) not in seen:
            seen.add((name, digest))
            values.append((name, version, digest))
    kin_names = [k.get("name") for k in identity.get("next_of_kin") or [] if isinstance(k, Mapping)]
    for name, version, digest in next_of_kin_tokens([n for n in kin_names if isinstance(n, str)], provider):
        if (name, digest) not in seen:
            seen.add((name, digest))
            values.append((name, version, digest))
    return values


def _index_rows(person_id: str, identity: Mapping[str, Any], provider: KeyProvider) -> list[BlindIndex]:
    return [
        BlindIndex(person_id=person_id, name=name, key_version=version, value=digest)
        for name, version, digest in _index_values(identity, provider)
    ]


# Next of kin carry no birth date, so their names are indexed alone: the sorted phonetic
# skeletons of the whole name, under two independently keyed indexes. A match needs both, so a
# chance collision of one truncated HMAC never counts (the design's "several keys agreeing"). The
# leak, for someone holding the database without the keys: two records name a relative with the
# same (phonetic) full name. Only designation screening compares them; duplicate screening
# (``matching.link_reasons``) ignores these kinds.
KIN_NAME = "kin_name"
KIN_NAME_CHECK = "kin_name_check"
KIN_INDEX_NAMES = (KIN_NAME, KIN_NAME_CHECK)
_MAX_KIN_READINGS = 8


def next_of_kin_tokens(full_names: Iterable[str], provider: KeyProvider | None = None) -> list[tuple[str, int, bytes]]:
    """``(index_name, key_version, digest)`` for each full name, as next of kin are indexed.

    Also used for a screening list's names, so that a listed person can be found among the
    applicants' relatives without decrypting anything.
    """
    provider = provider or key_provider()
    tokens: dict[tuple[str, int, bytes], None] = {}
    table = _indexers(provider)
    for full_name in full_names:
        words = names.skeleton_words(full_name)
        if not words:
            continue
        for reading in itertools.islice(itertools.product(*words), _MAX_KIN_READINGS):
            value = "\x1f".join(sorted(reading))
            for index_name in KIN_INDEX_NAMES:
                version, index = _indexer(table, provider, index_name)
                tokens[(index_name, version, index(value))] = None
    return list(tokens)


def blind_tokens(pairs: Iterable[tuple[str, str]], provider: KeyProvider | None = None) -> list[tuple[str, int, bytes]]:
    """``(index_name, key_version, digest)`` for plaintext ``(index_name, value)`` pairs, deduplicated.

    For values that are not a person's (a designation list's names): they are keyed exactly as
    ``person_seal`` keys a person's, so that the two meet in a join.
    """
    provider = provider or key_provider()
    table = _indexers(provider)
    tokens: dict[tuple[str, int, bytes], None] = {}
    for name, value in pairs:
        version, index = table.get(name) or _indexer(table, provider, name)
        tokens[(name, version, index(value))] = None
    return list(tokens)


def person_index_tokens(person: Person, index_names: Iterable[str]) -> list[tuple[str, int, bytes]]:
    """The person's stored index digests of the given kinds (no plaintext), for screening lists."""
    rows = BlindIndex.objects.filter(person=person, name__in=list(index_names)).values_list(
        "name", "key_version", "value"
    )
    return [(name, version, bytes(value)) for name, version, value in rows]


def _seal_identity(person_id: str, identity: Mapping[str, Any], provider: KeyProvider) -> SealedIdentity:
    return _seal_identity_and_dek(person_id, identity, provider)[0]


def _seal_identity_and_dek(
    person_id: str, identity: Mapping[str, Any], provider: KeyProvider
) -> tuple[SealedIdentity, bytes]:
    dek = crypto.new_dek()
    version, wrapped = provider.wrap_dek(dek, _aad(person_id))
    plaintext = json.dumps(identity, ensure_ascii=False, sort_keys=True).encode("utf-8")
    blob = crypto.seal(dek, plaintext, person_id=person_id, kind=IDENTITY_KIND, key_version=DEK_GENERATION)
    sealed = SealedIdentity(
        person_id=person_id, kek_version=version, wrapped_dek=wrapped, ciphertext=blob, updated_at=timezone.now()
    )
    return sealed, dek


def _sealed_record(dek: bytes, person_id: str, kind: str, text: str) -> SealedRecord:
    """A free-text record sealed under the person's data key, exactly as ``record_seal`` seals it."""
    return SealedRecord(
        person_id=person_id,
        kind=kind,
        created_at=timezone.now(),
        ciphertext=crypto.seal(
            dek, text.encode("utf-8"), person_id=person_id, kind=f"record:{kind}", key_version=DEK_GENERATION
        ),
    )


@dataclass(frozen=True, slots=True)
class SealedPerson:
    """One new person's stored forms, computed before the transaction that writes them.

    Holds only what goes to the database: a fresh pseudonymous id, the sealed identity (data key
    wrapped by the current KEK, AAD bound to this id), the blind-index digests and any sealed
    records (``person_seal(records=...)``). The data key itself is not kept. Sealing and hashing
    are the CPU-heavy part of storing a person; doing them first keeps them out of the write
    transaction (on SQLite, out of the single write lock). ``repr`` shows the id only.
    """

    person_id: str
    sealed: SealedIdentity
    index: tuple[tuple[str, int, bytes], ...]
    records: tuple[SealedRecord, ...] = ()

    def __repr__(self) -> str:
        return f"SealedPerson({self.person_id})"


def person_seal(
    identity: Mapping[str, Any], provider: KeyProvider | None = None, *, records: Mapping[str, str] | None = None
) -> SealedPerson:
    """Seals and indexes one identity under a fresh person id (nothing is written).

    ``records`` (kind -> text, e.g. an application's motivation) are sealed under the same new
    data key, as ``record_seal`` would seal them once the person exists; empty texts are skipped.
    """
    provider = provider or key_provider()
    person_id = new_person_id()
    sealed, dek = _seal_identity_and_dek(person_id, identity, provider)
    return SealedPerson(
        person_id=person_id,
        sealed=sealed,
        index=tuple(_index_values(identity, provider)),
        records=tuple(_sealed_record(dek, person_id, kind, text) for kind, text in (records or {}).items() if text),
    )


def people_seal(items: Iterable[NewPerson]) -> list[SealedPerson]:
    """``person_seal`` for each item of a batch, for ``people_create_batch(sealed=...)``."""
    provider = key_provider()
    return [person_seal(item.identity, provider, records=item.records) for item in items]


def person_create(
    *,
    identity: Mapping[str, Any],
    legion: str,
    actor: Actor,
    language: str = "en",
    preferred_call_sign: str | None = None,
    external_ref: str | None = None,
    sealed: SealedPerson | None = None,
    also_audit: Sequence[AuditItem] = (),
) -> Person:
    """Creates a person with a sealed identity and blind indexes, in one transaction with its audit entry.

    ``identity`` is the validated ``identity`` object of an application. ``sealed``, if given, is
    ``person_seal(identity, ...)`` computed beforehand (outside the caller's transaction); its
    records are stored too. ``also_audit`` are entries of the caller's that are appended with the
    person's own in one append (the caller then knows the person id from ``sealed``). Raises
    ``IntegrityError`` if ``external_ref`` already exists (callers treat that as "already imported").
    """
    prepared = sealed if sealed is not None else person_seal(identity)
    person_id = prepared.person_id
    now = timezone.now()
    # savepoint=False: inside the caller's transaction (a submission's) no savepoint is needed, as a
    # call sign taken meanwhile is not an error here (``insert_unless_taken``); any other failure
    # fails the caller's transaction with it. Called alone, this is the transaction.
    with transaction.atomic(savepoint=False):
        for attempt in range(5):
            call_sign = choose_call_sign(preferred_call_sign if attempt == 0 else None, identity)
            person = Person(
                id=person_id,
                call_sign=call_sign,
                call_sign_key=callsigns.call_sign_key(call_sign),
                legion=legion,
                language=language,
                external_ref=external_ref,
                created_at=now,
            )
            # Raises IntegrityError if external_ref already exists (callers: "already imported").
            if insert_unless_taken(person, "call_sign_key"):
                break
            # A call sign taken between the check and the insert: draw another.
        else:
            raise IdentityError("Could not find a free call sign; try again.")
        # The sealed identity, its blind indexes and records: one statement on PostgreSQL.
        insert_together(
            [
                instances_insert(SealedIdentity, [prepared.sealed]),
                rows_insert(BlindIndex, INDEX_COLUMNS, [(person_id, *value) for value in prepared.index]),
                instances_insert(SealedRecord, list(prepared.records)),
            ]
        )
        for saved in (prepared.sealed, *prepared.records):
            saved._state.adding, saved._state.db = False, connection.alias
        audit_record_many(
            [
                AuditItem(actor=actor.name, action="person.created", subject=person_id, details={"legion": legion}),
                *also_audit,
            ]
        )
        return person


@dataclass(frozen=True)
class NewPerson:
    """One person to create in a batch (see ``people_create_batch``)."""

    identity: Mapping[str, Any]
    legion: str
    language: str = "en"
    preferred_call_sign: str | None = None
    external_ref: str | None = None
    # Free-text records to seal under the person's new data key (kind -> text), e.g. a motivation.
    records: Mapping[str, str] = field(default_factory=dict)


def _free_call_signs(wanted: list[NewPerson]) -> list[str]:
    """A distinct free call sign for each person: his preference where usable, else from the word list."""
    chosen: list[str | None] = []
    keys_in_batch: set[str] = set()
    preferred: dict[int, tuple[str, str]] = {}
    for position, item in enumerate(wanted):
        chosen.append(None)
        if not item.preferred_call_sign:
            continue
        try:
            tidy = callsigns.check_call_sign(item.preferred_call_sign)
        except callsigns.CallSignError:
            continue
        if not callsigns.is_identifying(tidy, _name_skeletons(item.identity), names.skeleton):
            preferred[position] = (tidy, callsigns.call_sign_key(tidy))
    taken = set(
        Person.objects.filter(call_sign_key__in=[key for _, key in preferred.values()]).values_list(
            "call_sign_key", flat=True
        )
    )
    for position, (tidy, key) in preferred.items():
        if key not in taken and key not in keys_in_batch:
            chosen[position] = tidy
            keys_in_batch.add(key)
    generator = iter(callsigns.generated_call_signs())
    while None in chosen:
        missing = chosen.count(None)
        batch = {callsigns.call_sign_key(c): c for c in itertools.islice(generator, missing * 2 + 8)}
        taken = set(Person.objects.filter(call_sign_key__in=list(batch)).values_list("call_sign_key", flat=True))
        free = [c for key, c in batch.items() if key not in taken and key not in keys_in_batch]
        for position in [i for i, c in enumerate(chosen) if c is None]:
            if not free:
                break
            candidate = free.pop()
            chosen[position] = candidate
            keys_in_batch.add(callsigns.call_sign_key(candidate))
    return [c for c in chosen if c is not None]


def people_create_batch(
    *, items: list[NewPerson], actor: Actor, sealed: Sequence[SealedPerson] | None = None
) -> list[Person]:
    """Creates many people at once: the same rows and audit entries as ``person_create`` each,
    written with a few bulk statements. Must run inside the caller's transaction (all or nothing).

    ``sealed``, if given, is ``people_seal(items)`` computed beforehand, outside the transaction
    (one per item, in order). The caller removes ``external_ref`` values that already exist
    beforehand; a clash that slips through (a concurrent run) raises ``IntegrityError`` and the
    caller's transaction rolls back.
    """
    if not connection.in_atomic_block:
        raise IdentityError("people_create_batch must run inside a transaction.")
    if sealed is None:
        sealed = people_seal(items)
    elif len(sealed) != len(items):
        raise IdentityError("people_create_batch needs one sealed person per item.")
    now = timezone.now()
    call_signs = _free_call_signs(items)
    people: list[Person] = []
    indexes: list[tuple[str, str, int, bytes]] = []
    for item, call_sign, prepared in zip(items, call_signs, sealed, strict=True):
        person_id = prepared.person_id
        people.append(
            Person(
                id=person_id,
                call_sign=call_sign,
                call_sign_key=callsigns.call_sign_key(call_sign),
                legion=item.legion,
                language=item.language,
                external_ref=item.external_ref,
                created_at=now,
            )
        )
        indexes.extend((person_id, name, version, digest) for name, version, digest in prepared.index)
    insert_instances(Person, people)
    insert_instances(SealedIdentity, [prepared.sealed for prepared in sealed])
    insert_rows(BlindIndex, INDEX_COLUMNS, indexes)
    insert_instances(SealedRecord, [record for prepared in sealed for record in prepared.records])
    audit_record_many(
        [
            AuditItem(actor=actor.name, action="person.created", subject=p.id, details={"legion": p.legion})
            for p in people
        ]
    )
    return people


def possible_pairs_for(person_id: str) -> list[tuple[str, list[str]]]:
    """People whom screening puts in the "possible" tier with this person: (their id, reasons).

    For the CI officer's flag page, beside the matches of ``duplicate_candidates``. Decided from
    the blind indexes only, by ``matching.possible_reasons`` (never by decrypting); a person
    already matched (``matching.link_reasons``) is not listed again. Two queries.
    """
    return possible_pairs_many([person_id]).get(person_id, [])


def possible_pairs_many(person_ids: list[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """``possible_pairs_for`` for many people in two queries: only those who have a pair are keys.

    Arrival (intake) marks the cases of new people with a pair for the CI officer's "My work".
    """
    return screening_candidates_many(person_ids)[1]


Candidates = dict[str, list[tuple[str, list[str]]]]

# The kinds whose mere presence on a record matters to the rules (a patronymic or birthplace
# that disagrees, a rough birth date); fetched for the people of each chunk of pairs, and for
# those an arrival may pair with.
_MARKER_KINDS = matching.MARKER_KINDS
# The markers that let the most through: nothing to disagree, a rough date to allow the year.
_MOST_LENIENT = (frozenset({matching.NAME_ROUGH_DATE}), frozenset[str]())


@functools.lru_cache(maxsize=4096)
def _may_pair(agreeing: frozenset[str]) -> bool:
    """Whether two records agreeing in these kinds can be linked or paired, whatever markers they
    hold. The markers only take reasons away (a patronymic or birthplace that disagrees) or allow
    one (a rough date for ``name+birth_year``), so the rules under the most lenient markers say it.
    Most pairs an arrival shares a token with agree in nothing that counts (a birth date without
    patronymic, a given name and birth date): their markers need not be read."""
    linked = matching.link_reasons(set(agreeing), *_MOST_LENIENT)
    return bool(linked or matching.possible_reasons(set(agreeing), *_MOST_LENIENT))


def screening_candidates_many(person_ids: list[str]) -> tuple[Candidates, Candidates]:
    """(``duplicate_candidates_many(person_ids)``, ``possible_pairs_many(person_ids)``) from one
    self-join of the index table and one read of the markers of those it may pair with (none when
    nobody): at most two queries for both tiers, which an arriving application needs together
    (they were four, the join run twice). Tokens held by more than ``MAX_BUCKET`` people are left
    out by the database (``_agreeing_with``)."""
    if not person_ids:
        return {}, {}
    order = {pid: position for position, pid in enumerate(person_ids)}
    agreeing, kinds = _agreeing_with(person_ids)
    duplicates: Candidates = {}
    possible: Candidates = {}
    for mine, found in agreeing.items():
        my_kinds = frozenset(kinds.get(mine, ()))
        matches = []
        pairs = []
        for other, names_agreeing in found.items():
            theirs = frozenset(kinds.get(other, ()))
            linked = matching.link_reasons(names_agreeing, my_kinds, theirs)
            if linked:
                # Arrived later in the batch: it will match this one, not the reverse.
                if not (other in order and order[other] > order[mine]):
                    matches.append((other, sorted(linked)))
                continue
            reasons = matching.possible_reasons(names_agreeing, my_kinds, theirs)
            if reasons:
                pairs.append((other, [r for r in matching.POSSIBLE_REASONS if r in reasons]))
        if matches:
            duplicates[mine] = sorted(matches)
        if pairs:
            possible[mine] = sorted(pairs)
    return duplicates, possible


def agreeing_query(person_ids: list[str]) -> tuple[str, list[Any]]:
    """The SQL and parameters of ``_agreeing_with``'s join: (mine, theirs, kind) for every token of
    ``person_ids`` held by at most ``MAX_BUCKET`` people. Apart so that a bench can EXPLAIN it."""
    table = connection.ops.quote_name(BlindIndex._meta.db_table)
    marks = ", ".join(["%s"] * len(person_ids))
    sql = (
        f"SELECT mine.person_id, theirs.person_id, theirs.name FROM {table} mine "  # noqa: S608 — quoted model table, placeholders only
        f"JOIN {table} theirs ON theirs.name = mine.name AND theirs.key_version = mine.key_version "
        f"AND theirs.value = mine.value AND theirs.person_id <> mine.person_id "
        f"WHERE mine.person_id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM {table} crowd "
        f"WHERE crowd.name = mine.name AND crowd.key_version = mine.key_version AND crowd.value = mine.value "
        f"LIMIT 1 OFFSET %s)"
    )
    return sql, [*person_ids, matching.MAX_BUCKET]


def _agreeing_with(person_ids: list[str]) -> tuple[dict[str, dict[str, set[str]]], dict[str, set[str]]]:
    """For each of ``person_ids``: every other person sharing tokens that the rules could link or
    pair them by (``_may_pair``), with the kinds shared; and the marker kinds (``_MARKER_KINDS``,
    the only ones the rules look at besides those shared) each person involved holds. Two queries
    (a self-join of the index table, then the markers).

    A token held by more than ``MAX_BUCKET`` people identifies nobody and is left out, as
    ``duplicate_screen`` leaves it out. The database decides that without reading the crowd: for
    each of their tokens it looks for a ``MAX_BUCKET + 1``-th holder (``LIMIT 1 OFFSET MAX_BUCKET``
    on the lookup index, so at most ``MAX_BUCKET + 1`` index entries whatever the token's size) and
    joins only the tokens without one. A birth year or a common surname held by thousands costs 65
    entries, not thousands of rows sent back and thrown away. Each person holds a token once
    (``_index_values`` deduplicates, ``reindex`` replaces a person's rows), so rows count people.
    """
    sql, params = agreeing_query(person_ids)
    shared: dict[str, dict[str, set[str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for mine, other, name in cursor.fetchall():
            shared.setdefault(mine, {}).setdefault(other, set()).add(name)
    agreeing: dict[str, dict[str, set[str]]] = {}
    for mine, found in shared.items():
        kept = {other: names for other, names in found.items() if _may_pair(frozenset(names))}
        if kept:
            agreeing[mine] = kept
    involved = set(agreeing) | {other for found in agreeing.values() for other in found}
    kinds: dict[str, set[str]] = {}
    if involved:
        rows = BlindIndex.objects.filter(person_id__in=list(involved), name__in=_MARKER_KINDS)
        for owner, name in rows.values_list("person_id", "name").distinct():
            kinds.setdefault(owner, set()).add(name)
    return agreeing, kinds


def duplicate_candidates_many(person_ids: list[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """``duplicate_candidates`` for many people in two queries.

    As if they had arrived one after another in the order given: a person is matched against
    everyone stored before the batch and against those earlier in the batch, never later ones.
    """
    return screening_candidates_many(person_ids)[0]


def _dek_for(person: Person, provider: KeyProvider, sealed: SealedIdentity | None = None) -> bytes:
    """The person's data key, unwrapped from his sealed identity: ``sealed`` when the caller holds
    the row it has just written (a submission: no read back), else read from the database."""
    if sealed is None or sealed.person_id != person.id:
        try:
            sealed = SealedIdentity.objects.get(person=person)
        except SealedIdentity.DoesNotExist:
            raise IdentityError(f"Person {person.id} has no sealed identity (erased or never sealed).") from None
    return provider.unwrap_dek(sealed.kek_version, bytes(sealed.wrapped_dek), _aad(person.id))


def _open_identity(person: Person, provider: KeyProvider) -> dict[str, Any]:
    sealed = SealedIdentity.objects.get(person=person)
    dek = provider.unwrap_dek(sealed.kek_version, bytes(sealed.wrapped_dek), _aad(person.id))
    return _identity_from(sealed, dek, person)


def _identity_from(sealed: SealedIdentity, dek: bytes, person: Person) -> dict[str, Any]:
    plaintext = crypto.open_sealed(
        dek, bytes(sealed.ciphertext), person_id=person.id, kind=IDENTITY_KIND, key_version=DEK_GENERATION
    )
    value = json.loads(plaintext)
    if not isinstance(value, dict):
        raise crypto.SealBrokenError("The sealed identity is not a document.")
    return value


def _require(actor: Actor, perm: Perm, person: Person) -> None:
    if actor.staff is None:
        raise NotPermitted("You may not do this for this person.")
    # The one need-to-know rule of access.scopes, with each role's narrowing: a legion-wide grant
    # lets a counter-intelligence officer open only the people of his cases, not the whole legion
    # (imported here because scopes reads the domain apps' models, which import this module's).
    from legionary.access.scopes import person_in_scope

    if not person_in_scope(actor.staff, person, perm=perm):
        raise NotPermitted("You may not do this for this person.")


def unseal_identity(*, person: Person, actor: Actor, reason: str, perm: Perm = Perm.UNSEAL_IDENTITY) -> dict[str, Any]:
    """Opens a person's identity for a permitted actor with a written reason.

    ``perm`` is the permission the opening is for: ``UNSEAL_IDENTITY`` for the whole identity, or a
    narrower one such as ``CONTACT_NEXT_OF_KIN`` whose caller shows only the part it needs.

    The audit entry is committed before anything is decrypted, so an opening can never go
    unrecorded (even if decryption then fails, the attempt is on record).
    """
    return unseal_identity_with_records(person=person, actor=actor, reason=reason, perm=perm)[0]


def unseal_identity_with_records(
    *,
    person: Person,
    actor: Actor,
    reason: str,
    perm: Perm = Perm.UNSEAL_IDENTITY,
    records: Sequence[SealedRecord] = (),
) -> tuple[dict[str, Any], list[str]]:
    """``unseal_identity``, and with it the person's sealed ``records`` (the motivation shown beside it).

    Each record is its own opening, audited as ``record_open`` audits it (``record.unsealed``, riding on
    this identity opening, ``openings.RECORD``): the scope is checked and the gate passed once for the
    person, both entries and both openings are committed in one transaction before anything is
    decrypted, and the person's data key is unwrapped once. Returns the identity and the records' texts.
    """
    _require(actor, perm, person)
    reason = visible_reason(reason)
    if not reason:
        raise IdentityError("Write the reason for opening this identity (at least a few words).")
    if person.is_erased:
        raise IdentityError("This person's identity was erased; there is nothing to open.")
    if connection.in_atomic_block:
        raise IdentityError("unseal_identity must not run inside a transaction: its audit entry must commit first.")
    if any(record.person_id != person.id for record in records):
        raise IdentityError("A sealed record opened with an identity must be that person's.")
    # Purpose-bound (issue 21): for an assignment, or through break-glass; OpeningHeld otherwise.
    admission = openings.admit(actor=actor, person=person, perm=perm, kind=openings.kind_of(perm), reason=reason)
    # The records ride on this opening, as record_open's gate lets them (an identity opening moments before).
    riding = openings.Admission(staff_pk=admission.staff_pk, person_id=person.id, kind=openings.RECORD)
    with transaction.atomic():
        entries = audit_record_many(
            [
                AuditItem(
                    actor=actor.name,
                    action="identity.unsealed",
                    subject=person.id,
                    details={"reason": reason[:500], **admission.details()},
                ),
                *(
                    AuditItem(
                        actor=actor.name,
                        action="record.unsealed",
                        subject=person.id,
                        details={"kind": record.kind, "record": record.pk, "reason": reason[:500]},
                    )
                    for record in records
                ),
            ]
        )
        openings.consume(admission, audit_index=entries[0].index)
        for entry in entries[1:]:
            openings.consume(riding, audit_index=entry.index)
    provider = key_provider()
    sealed = SealedIdentity.objects.get(person=person)
    dek = provider.unwrap_dek(sealed.kek_version, bytes(sealed.wrapped_dek), _aad(person.id))
    identity = _identity_from(sealed, dek, person)
    texts = [
        crypto.open_sealed(
            dek, bytes(record.ciphertext), person_id=person.id, kind=f"record:{record.kind}", key_version=DEK_GENERATION
        ).decode("utf-8")
        for record in records
    ]
    return identity, texts


# --- sealed records and documents ---------------------------------------------------------------


def record_seal(*, person: Person, kind: str, text: str) -> SealedRecord:
    """Seals a free-text record (e.g. a vetting note) under the person's data key."""
    dek = _dek_for(person, key_provider())
    record = SealedRecord(person=person, kind=kind, created_at=timezone.now(), ciphertext=b"")
    record.ciphertext = crypto.seal(
        dek, text.encode("utf-8"), person_id=person.id, kind=f"record:{kind}", key_version=DEK_GENERATION
    )
    record.save()
    return record


def record_open(*, record: SealedRecord, actor: Actor, reason: str, perm: Perm = Perm.UNSEAL_IDENTITY) -> str:
    """Opens a sealed record, audited like an identity unseal."""
    person = record.person
    _require(actor, perm, person)
    reason = " ".join(reason.split())[:500]
    # Rides on an identity opening of the same person moments before; through the gate otherwise.
    admission = openings.admit(actor=actor, person=person, perm=perm, kind=openings.RECORD, reason=reason)
    with transaction.atomic():
        entry = audit_record(
            actor=actor.name,
            action="record.unsealed",
            subject=person.id,
            details={"kind": record.kind, "record": record.pk, "reason": reason, **admission.details()},
        )
        openings.consume(admission, audit_index=entry.index)
    dek = _dek_for(person, key_provider())
    return crypto.open_sealed(
        dek, bytes(record.ciphertext), person_id=person.id, kind=f"record:{record.kind}", key_version=DEK_GENERATION
    ).decode("utf-8")


def sniff_document_type(head: bytes) -> str | None:
    """The document's type from its first bytes (PDF, JPEG or PNG), or None."""
    for content_type, magic in DOCUMENT_TYPES.items():
        if head.startswith(magic):
            # A PNG's first chunk is its header: the signature alone on an executable is not a scan.
            if content_type == "image/png" and head[12:16] != b"IHDR":
                return None
            return content_type
    return None


def _document_path(document_id: str) -> Path:
    root = Path(settings.LEGIONARY_UPLOADS).resolve()
    path = (root / document_id[:2] / document_id).resolve()
    if os.path.commonpath([root, path]) != str(root):
        raise IdentityError("Refused a document path outside the upload store.")
    return path


def document_read(source: BinaryIO, *, max_bytes: int = 20 * 1024 * 1024) -> bytes:
    """An upload's bytes, refused (``IdentityError``) past ``max_bytes`` without reading further."""
    data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise IdentityError(f"A document may be at most {max_bytes // (1024 * 1024)} MB.")
    return data


def document_check(
    source: BinaryIO, *, claimed_type: str | None = None, max_bytes: int = 20 * 1024 * 1024
) -> tuple[bytes, documents.DocumentInfo]:
    """Reads an upload and decodes it fully in the sandbox (``identity.documents``): its bytes and
    what it is, or ``documents.DocumentRefused`` saying why it was refused. CPU work: callers run it
    before their transaction, as they seal before it."""
    data = document_read(source, max_bytes=max_bytes)
    return data, documents.inspect_upload(data, claimed_type)


def document_store(
    *,
    person: Person,
    source: BinaryIO,
    max_bytes: int = 20 * 1024 * 1024,
    checked: documents.DocumentInfo | None = None,
    sealed: SealedIdentity | None = None,
) -> SealedDocument:
    """Encrypts an uploaded file to the store with the person's key; its type is checked by content.

    ``checked`` is what ``document_check`` found in these same bytes; without it the file is
    decoded here (in the sandbox) first. Nothing that does not decode as a PDF, JPEG or PNG within
    the limits is stored (``documents.DocumentRefused``). ``sealed`` is the person's sealed
    identity as the caller has just written it in this transaction (``person_seal(...).sealed``):
    its wrapped data key is unwrapped as it would be once read back, without the read.

    The file is written under a temporary name and renamed only when complete, so a failure (disk
    full, a bad file) leaves nothing behind. If the caller's transaction later rolls back, the
    caller removes the file with ``document_discard_files``.
    """
    head = source.read(16)
    content_type = sniff_document_type(head)
    if content_type is None:
        raise IdentityError("Only PDF, JPEG and PNG files are accepted; this file is none of them.")
    source.seek(0)
    if checked is None:
        _, checked = document_check(source, max_bytes=max_bytes)
        source.seek(0)
    if checked.kind != content_type:
        raise documents.DocumentRefused("mismatch")
    dek = _dek_for(person, key_provider(), sealed)
    document_id = secrets.token_hex(16)
    final = _document_path(document_id)
    temporary = final.with_name(final.name + ".part")
    counted = _LimitedReader(source, max_bytes)
    try:
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            # encrypt_stream only calls read(), which is all the limiter offers.
            crypto.encrypt_stream(
                dek, cast(BinaryIO, counted), out, person_id=person.id, kind=f"document:{document_id}"
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
        document = SealedDocument.objects.create(
            id=document_id, person=person, content_type=content_type, size=counted.count, created_at=timezone.now()
        )
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DocumentNotStored(
                "The document could not be stored: the server's disk is full. Nothing was kept; try again later."
            ) from None
        raise
    return document


def document_discard_files(document_ids: Iterable[str]) -> None:
    """Removes stored files whose rows were rolled back (callers use it when a later step fails)."""
    for document_id in document_ids:
        _document_path(document_id).unlink(missing_ok=True)


class _LimitedReader:
    """A read-only stream that counts bytes and refuses to go past a limit."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self.source, self.limit, self.count = source, limit, 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise IdentityError(f"A document may be at most {self.limit // (1024 * 1024)} MB.")
        return data


# How long the pictures of an opening may be fetched under its audit entry.
DOCUMENT_VIEW_MINUTES = 15


def reason_checked(reason: str | None, *, refusal: str) -> str:
    """A reason for opening sealed data as it is logged, or ``ReasonMissing(refusal)`` when it
    holds too little a reader can see (five zero-width spaces are no reason: issue 20, finding 3).
    The rule is ``core.reasons.visible_reason``, the one every reason field follows."""
    checked = visible_reason(reason)
    if not checked:
        raise ReasonMissing(refusal)
    return checked


@dataclass(frozen=True)
class OpenedDocument:
    """One document of an opening: its row, and its page count or why it cannot be shown."""

    document: SealedDocument
    pages: int
    refusal: str | None = None  # a ``documents.REFUSALS`` code


@dataclass(frozen=True)
class DocumentsOpening:
    entry: int  # the audit entry that records the opening; the pictures are fetched under it
    documents: list[OpenedDocument]


def _document_bytes(document: SealedDocument) -> bytes:
    person = document.person
    sink = io.BytesIO()
    dek = _dek_for(person, key_provider())
    with _document_path(document.id).open("rb") as source:
        crypto.decrypt_stream(dek, source, sink, person_id=person.id, kind=f"document:{document.id}")
    return sink.getvalue()


def documents_unseal(*, person: Person, actor: Actor, reason: str) -> DocumentsOpening:
    """Opens a person's uploaded documents for viewing as pictures: permission, a visible reason,
    then an audit entry committed *before* anything is decrypted, as for an identity.

    Each document is then decrypted and checked in the sandbox for its page count (or the reason
    it cannot be shown, e.g. a decompression bomb). The pictures themselves are made by
    ``document_picture`` under the returned audit entry; the originals are never returned.
    """
    _require(actor, Perm.UNSEAL_IDENTITY, person)
    reason = reason_checked(reason, refusal="Write the reason for opening these documents (at least a few words).")
    if person.is_erased:
        raise IdentityError("This person's identity was erased; there is nothing to open.")
    stored = list(SealedDocument.objects.filter(person=person).order_by("created_at", "id"))
    if not stored:
        raise IdentityError("This person has no uploaded documents.")
    if connection.in_atomic_block:
        raise IdentityError("documents_unseal must not run inside a transaction: its audit entry must commit first.")
    admission = openings.admit(
        actor=actor, person=person, perm=Perm.UNSEAL_IDENTITY, kind=openings.DOCUMENTS, reason=reason
    )
    with transaction.atomic():
        entry = audit_record(
            actor=actor.name,
            action="document.unsealed",
            subject=person.id,
            details={"documents": [d.id for d in stored], "reason": reason[:500], **admission.details()},
        )
        openings.consume(admission, audit_index=entry.index)
    opened = []
    for document in stored:
        try:
            info = documents.inspect_upload(_document_bytes(document), document.content_type)
        except documents.DocumentRefused as exc:
            opened.append(OpenedDocument(document=document, pages=0, refusal=exc.code))
        else:
            opened.append(OpenedDocument(document=document, pages=info.pages))
    return DocumentsOpening(entry=entry.index, documents=opened)


def document_picture(
    *, document: SealedDocument, actor: Actor, opening: int, page: int, watermark_text: str | None = None
) -> bytes:
    """One page of a document as a PNG made in the sandbox, for the actor who opened it.

    ``opening`` must be the index of a ``document.unsealed`` entry that this actor wrote for this
    document in the last ``DOCUMENT_VIEW_MINUTES``: no picture without its audit entry first.
    Raises ``NotPermitted`` otherwise, ``documents.DocumentRefused`` for a document that does not
    decode within the sandbox's limits.
    """
    person = document.person
    _require(actor, Perm.UNSEAL_IDENTITY, person)
    from legionary.audit.models import Entry

    since = timezone.now() - timedelta(minutes=DOCUMENT_VIEW_MINUTES)
    entry = Entry.objects.filter(
        index=opening, action="document.unsealed", actor=actor.name, subject=person.id, created_at__gte=since
    ).first()
    if entry is None or document.id not in json.loads(bytes(entry.body))["details"].get("documents", []):
        raise NotPermitted("Open the documents again with a reason; this opening has expired or is not yours.")
    pictures = documents.rasterise(
        _document_bytes(document), document.content_type, first_page=page, max_pages=1, watermark_text=watermark_text
    )
    if not pictures:
        raise IdentityError("This document has no such page.")
    return pictures[0]


def document_open(*, document: SealedDocument, actor: Actor, reason: str, sink: BinaryIO) -> None:
    """Decrypts a document's original bytes into ``sink`` for a permitted actor with a visible
    reason, audited first; discard ``sink`` on error. Never for a browser: staff views show
    ``document_picture``'s pixels instead."""
    person = document.person
    _require(actor, Perm.UNSEAL_IDENTITY, person)
    reason = reason_checked(reason, refusal="Write the reason for opening this document (at least a few words).")
    admission = openings.admit(
        actor=actor, person=person, perm=Perm.UNSEAL_IDENTITY, kind=openings.DOCUMENTS, reason=reason
    )
    with transaction.atomic():
        entry = audit_record(
            actor=actor.name,
            action="document.unsealed",
            subject=person.id,
            details={"document": document.id, "reason": reason[:500], **admission.details()},
        )
        openings.consume(admission, audit_index=entry.index)
    dek = _dek_for(person, key_provider())
    with _document_path(document.id).open("rb") as source:
        crypto.decrypt_stream(dek, source, sink, person_id=person.id, kind=f"document:{document.id}")


# --- duplicates ---------------------------------------------------------------------------------


def duplicate_candidates(person: Person) -> list[tuple[str, list[str]]]:
    """People that screening considers the same as ``person``, with the reasons, from indexes only.

    The same rule as ``legionary duplicates`` (``matching.link_reasons``) decides, so one chance
    collision of a truncated index never flags anyone on its own. Nothing is decrypted; two
    queries whatever the table's size (see ``duplicate_candidates_many``).
    """
    return duplicate_candidates_many([person.id]).get(person.id, [])


def _index_stream(batch: int = 5000) -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    current_person: str | None = None
    tokens: list[tuple[str, bytes]] = []
    query = BlindIndex.objects.order_by("person_id", "id").values_list("person_id", "name", "value")
    for person_id, name, value in query.iterator(chunk_size=batch):
        if person_id != current_person:
            if current_person is not None:
                yield current_person, tokens
            current_person, tokens = person_id, []
        tokens.append((name, bytes(value)))
    if current_person is not None:
        yield current_person, tokens


def duplicate_groups() -> list[matching.Group[str]]:
    """Every group of records that screening considers one person, from the blind indexes only."""
    return duplicate_screen().groups


_MARKERS = "legionary_dup_markers"
# Sort and hash memory for the pair query's own transaction on PostgreSQL (the server's default,
# 4 MB here 32 MB, sends a million people's pairs to disk several times over).
PAIR_WORK_MEM = "256MB"


@functools.cache
def _pair_kinds(bits: int) -> frozenset[str]:
    """The kinds a pair's bits stand for: decoded once per distinct mask (a few dozen), not once a
    pair (six million at a million people)."""
    return frozenset(kind for n, kind in enumerate(matching.PAIR_KINDS) if bits >> n & 1)


def _agreeing_pairs(chunk: int) -> Iterator[tuple[str, str, set[str], frozenset[str], frozenset[str]]]:
    """Every pair of people sharing a token in a bucket of at most ``MAX_BUCKET``, with the kinds
    shared and each one's marker kinds, in pair order.

    Only tokens of the kinds the rules read pair people up, and on PostgreSQL only pairs sharing
    one of ``matching.ANCHOR_KINDS`` come out (every rule needs one; the rest can be neither linked
    nor possible). The markers are copied once into a temporary table keyed by person."""
    table = connection.ops.quote_name(BlindIndex._meta.db_table)
    kinds = list(matching.PAIR_KINDS)
    marks = ", ".join(["%s"] * len(kinds))
    postgres = connection.vendor == "postgresql"
    if postgres:
        # One ordered pass over the index (name, key_version, value, person): each bucket of
        # 2..MAX_BUCKET people becomes a sorted array as the scan passes it (no grouping hash, no
        # join back to the table), its pairs are generated i < j, and the kinds a pair shares are
        # gathered as bits into one row per pair; pairs with no anchor kind are dropped there.
        anchor = sum(1 << n for n, kind in enumerate(kinds) if kind in matching.ANCHOR_KINDS)
        sql = (
            "SELECT p.a, p.b, bit_or(p.bit) FROM (SELECT members[i] AS a, members[j] AS b, bit FROM ("  # noqa: S608 — quoted model table, placeholders only
            "SELECT 1 << (array_position(%s::text[], name::text) - 1) AS bit, "
            f"array_agg(person_id ORDER BY person_id) AS members FROM {table} WHERE name IN ({marks}) "
            "GROUP BY name, key_version, value HAVING COUNT(*) BETWEEN 2 AND %s) bucket "
            "CROSS JOIN LATERAL generate_series(1, cardinality(members) - 1) i "
            "CROSS JOIN LATERAL generate_series(i + 1, cardinality(members)) j) p "
            "WHERE p.a < p.b GROUP BY p.a, p.b HAVING bit_or(p.bit) & %s <> 0 ORDER BY p.a, p.b"
        )
        params: list[Any] = [kinds, *kinds, matching.MAX_BUCKET, anchor]
    else:
        sql = (
            f"WITH small AS (SELECT name, key_version, value FROM {table} WHERE name IN ({marks}) "  # noqa: S608 — quoted model table, placeholders only
            f"GROUP BY name, key_version, value HAVING COUNT(*) BETWEEN 2 AND %s) "
            f"SELECT a.person_id, b.person_id, a.name FROM small s "
            f"JOIN {table} a ON a.name = s.name AND a.key_version = s.key_version AND a.value = s.value "
            f"JOIN {table} b ON b.name = s.name AND b.key_version = s.key_version AND b.value = s.value "
            f"AND a.person_id < b.person_id ORDER BY a.person_id, b.person_id"
        )
        params = [*kinds, matching.MAX_BUCKET]
    pending: list[tuple[str, str, set[str]]] = []

    def flush() -> Iterator[tuple[str, str, set[str], frozenset[str], frozenset[str]]]:
        people = sorted({p for a, b, _ in pending for p in (a, b)})
        markers: dict[str, set[str]] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(people), 500):
                some = people[start : start + 500]
                cursor.execute(
                    f"SELECT person_id, name FROM {_MARKERS} WHERE person_id IN ({', '.join(['%s'] * len(some))})",  # noqa: S608 — our own table
                    some,
                )
                for owner, name in cursor.fetchall():
                    markers.setdefault(owner, set()).add(name)
        for a, b, shared in pending:
            yield a, b, shared, frozenset(markers.get(a, ())), frozenset(markers.get(b, ()))
        pending.clear()

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_MARKERS}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_MARKERS} AS SELECT DISTINCT person_id, name FROM {table} "  # noqa: S608 — quoted model table, placeholders only
            f"WHERE name IN ({', '.join(['%s'] * len(_MARKER_KINDS))})",
            list(_MARKER_KINDS),
        )
        cursor.execute(f"CREATE INDEX {_MARKERS}_person ON {_MARKERS} (person_id)")
        if postgres:  # never analysed by autovacuum; and the pair query's own sort and hash memory
            cursor.execute(f"ANALYZE {_MARKERS}")
            cursor.execute("SELECT set_config('work_mem', %s, true)", [PAIR_WORK_MEM])
    try:
        # A server-side cursor on PostgreSQL (a plain one on SQLite, which steps through the result):
        # the pairs are read as they come, never all held at once.
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            current: tuple[str, str] | None = None
            shared: set[str] = set()
            while rows := cursor.fetchmany(5000):
                for a, b, found in rows:  # found: one kind a row (SQLite), the pair's kinds as bits (PostgreSQL)
                    if (a, b) != current:
                        if current is not None:
                            pending.append((*current, shared))
                            if len(pending) >= chunk:
                                yield from flush()
                        current, shared = (a, b), set()
                    if isinstance(found, int):
                        shared |= _pair_kinds(found)
                    else:
                        shared.add(found)
            if current is not None:
                pending.append((*current, shared))
        yield from flush()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_MARKERS}")


def duplicate_screen(chunk: int = 5000) -> matching.Screened[str]:
    """Both tiers over everyone: groups (one person) and possible pairs (to review), indexes only.

    Set-based: the database pairs up the people who share a token (a self-join of the index
    table, buckets of more than ``MAX_BUCKET`` left out, as ``matching.screen`` leaves them out)
    and sorts the pairs; Python reads them in order, a chunk at a time, and keeps only the
    linked people and the possible pairs. The same rule as ``matching.screen``.
    """
    return matching.screen_pairs(_agreeing_pairs(chunk), order=lambda person_id: person_id)


# --- duplicates, streamed: both tiers over everyone in flat memory ---------------------------------
#
# ``duplicate_screen`` holds every linked record and every possible pair in memory to group them
# (a union-find), which grows with the groups: at a million people, hundreds of megabytes. The
# verb ``legionary duplicates`` instead keeps the links in the database: the pairs are read in
# order as before and judged by the same rules a chunk at a time, the link edges and possible
# pairs written to temporary tables, the groups found there (each record labelled with the
# smallest id of its group, by label propagation), and both tiers read back in order through
# server-side cursors. Memory holds a chunk of pairs and one group, whatever the number of people.

_EDGES = "legionary_dup_edge"
_NEIGHBOURS = "legionary_dup_neighbour"
_LABELS = "legionary_dup_label"
_POSSIBLE = "legionary_dup_possible"


@dataclass(frozen=True)
class Member:
    """A person of a group or pair, with the external reference the verb prints when he has one."""

    person_id: str
    external_ref: str | None

    @property
    def ref(self) -> str:
        return self.external_ref or self.person_id


@dataclass(frozen=True)
class TierGroup:
    """A group as the screen finds it: ``label`` is its smallest member id (its first member)."""

    label: str
    members: tuple[Member, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TierPair:
    """A possible pair (members in id order), with the label of each member's group, if any."""

    members: tuple[Member, Member]
    labels: tuple[str | None, str | None]
    reasons: tuple[str, ...]


class DuplicateTiers:
    """The two tiers of ``duplicate_tiers``, read in order from its temporary tables."""

    def groups(self, *, holding: Iterable[str] | None = None) -> Iterator[TierGroup]:
        """Every group in the order of its first member (members in id order, reasons in
        ``matching.REASONS`` order): ``duplicate_screen``'s groups. With ``holding``, only the groups
        that hold one of those people (a few, read at once)."""
        where, params = "", []
        if holding is not None:
            labels: set[str] = set()
            wanted = sorted(set(holding))
            with connection.cursor() as cursor:
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ", ".join(["%s"] * len(chunk))
                    cursor.execute(f"SELECT label FROM {_LABELS} WHERE person IN ({marks})", chunk)  # noqa: S608 — our own table name, placeholders
                    labels.update(label for (label,) in cursor.fetchall())
            if not labels:
                return
            params = sorted(labels)
            where = f"WHERE l.label IN ({', '.join(['%s'] * len(params))})"
        person = connection.ops.quote_name(Person._meta.db_table)
        sql = (
            f"SELECT l.label, 0, l.person, p.external_ref FROM {_LABELS} l JOIN {person} p ON p.id = l.person {where} "  # noqa: S608 — our own and quoted model table names, placeholders
            f"UNION ALL SELECT l.label, 1, e.reasons, NULL FROM {_EDGES} e JOIN {_LABELS} l ON l.person = e.a {where} "
            f"GROUP BY l.label, e.reasons ORDER BY 1, 2, 3"
        )
        label: str | None = None
        members: list[Member] = []
        reasons: set[str] = set()

        def group() -> TierGroup:
            assert label is not None  # noqa: S101 — only called once a row was read
            return TierGroup(label, tuple(members), tuple(r for r in matching.REASONS if r in reasons))

        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params + params)
            while rows := cursor.fetchmany(2000):
                for row_label, kind, value, external_ref in rows:
                    if row_label != label:
                        if label is not None:
                            yield group()
                        label, members, reasons = row_label, [], set()
                    if kind == 0:
                        members.append(Member(value, external_ref))
                    else:
                        reasons.update(value.split(","))
        if label is not None:
            yield group()

    def possible(self) -> Iterator[TierPair]:
        """Every possible pair in the order of its members' ids, reasons in ``matching.POSSIBLE_REASONS``
        order; pairs inside one group are left out (``duplicate_screen``'s possible pairs)."""
        person = connection.ops.quote_name(Person._meta.db_table)
        sql = (
            f"SELECT q.a, pa.external_ref, la.label, q.b, pb.external_ref, lb.label, q.reasons FROM {_POSSIBLE} q "  # noqa: S608 — our own and quoted model table names
            f"JOIN {person} pa ON pa.id = q.a JOIN {person} pb ON pb.id = q.b "
            f"LEFT JOIN {_LABELS} la ON la.person = q.a LEFT JOIN {_LABELS} lb ON lb.person = q.b ORDER BY q.a, q.b"
        )
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql)
            while rows := cursor.fetchmany(2000):
                for a, ref_a, label_a, b, ref_b, label_b, reasons in rows:
                    if label_a is not None and label_a == label_b:
                        continue
                    yield TierPair((Member(a, ref_a), Member(b, ref_b)), (label_a, label_b), tuple(reasons.split(",")))


def _tier_tables_create() -> None:
    # Byte order on PostgreSQL, as Python sorts the ids (SQLite compares text byte by byte anyway).
    text = 'text COLLATE "C"' if connection.vendor == "postgresql" else "text"
    with connection.cursor() as cursor:
        for table in (_EDGES, _NEIGHBOURS, _LABELS, _POSSIBLE):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        for table, columns in (
            (_EDGES, f"a {text} NOT NULL, b {text} NOT NULL, reasons {text} NOT NULL"),
            (_POSSIBLE, f"a {text} NOT NULL, b {text} NOT NULL, reasons {text} NOT NULL"),
            (_NEIGHBOURS, f"x {text} NOT NULL, y {text} NOT NULL"),
            (_LABELS, f"person {text} PRIMARY KEY, label {text} NOT NULL"),
        ):
            cursor.execute(f"CREATE TEMPORARY TABLE {table} ({columns})")


def _tier_tables_drop() -> None:
    with connection.cursor() as cursor:
        for table in (_EDGES, _NEIGHBOURS, _LABELS, _POSSIBLE):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _label_groups() -> int:
    """Labels every linked record with the smallest id of its group; returns the rounds it took.

    Each round gives a record the smallest label among its neighbours' (and its label's own label,
    which halves long chains); the labels only fall, and stop at each group's smallest id."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_NEIGHBOURS} (x, y) SELECT a, b FROM {_EDGES} UNION ALL SELECT b, a FROM {_EDGES}"  # noqa: S608 — our own table names
        )
        cursor.execute(f"CREATE INDEX {_NEIGHBOURS}_x ON {_NEIGHBOURS} (x)")
        cursor.execute(
            f"INSERT INTO {_LABELS} (person, label) "  # noqa: S608 — our own table names
            f"SELECT x, MIN(CASE WHEN y < x THEN y ELSE x END) FROM {_NEIGHBOURS} GROUP BY x"
        )
        cursor.execute(f"CREATE INDEX {_LABELS}_label ON {_LABELS} (label)")
        if postgres:  # temporary tables are never analysed by autovacuum; the planner needs their sizes
            cursor.execute(f"ANALYZE {_EDGES}, {_NEIGHBOURS}, {_LABELS}, {_POSSIBLE}")
        rounds = 0
        while True:
            rounds += 1
            cursor.execute(
                f"UPDATE {_LABELS} SET label = m.low FROM (SELECT e.x AS person, MIN(n.label) AS low "  # noqa: S608 — our own table names
                f"FROM {_NEIGHBOURS} e JOIN {_LABELS} n ON n.person = e.y GROUP BY e.x) m "
                f"WHERE m.person = {_LABELS}.person AND m.low < {_LABELS}.label"
            )
            changed = cursor.rowcount
            cursor.execute(
                f"UPDATE {_LABELS} SET label = j.label FROM {_LABELS} j "  # noqa: S608 — our own table names
                f"WHERE j.person = {_LABELS}.label AND j.label < {_LABELS}.label"
            )
            changed += cursor.rowcount
            if not changed:
                return rounds


@contextmanager
def duplicate_tiers(chunk: int = 5000) -> Iterator[DuplicateTiers]:
    """Both tiers over everyone, as ``duplicate_screen`` finds them, to be read in order in flat memory.

    Inside one transaction: the agreeing pairs are judged by ``matching.link_reasons`` and
    ``matching.possible_reasons`` as they arrive and written, a thousand at a time, to temporary
    tables; the groups are the connected records of the links (``_label_groups``). The tables go
    when the block ends."""
    batch = 1000
    with transaction.atomic():
        _tier_tables_create()
        edges: list[tuple[str, str, str]] = []
        possible: list[tuple[str, str, str]] = []
        types = ["text", "text", "text"]
        for a, b, agreeing, kinds_a, kinds_b in _agreeing_pairs(chunk):
            reasons = matching.link_reasons(agreeing, kinds_a, kinds_b)
            if reasons:
                edges.append((a, b, ",".join(r for r in matching.REASONS if r in reasons)))
                if len(edges) >= batch:
                    insert_values(_EDGES, "a, b, reasons", 3, edges, types)
                    edges.clear()
                continue
            maybe = matching.possible_reasons(agreeing, kinds_a, kinds_b)
            if maybe:
                possible.append((a, b, ",".join(r for r in matching.POSSIBLE_REASONS if r in maybe)))
                if len(possible) >= batch:
                    insert_values(_POSSIBLE, "a, b, reasons", 3, possible, types)
                    possible.clear()
        insert_values(_EDGES, "a, b, reasons", 3, edges, types)
        insert_values(_POSSIBLE, "a, b, reasons", 3, possible, types)
        _label_groups()
        yield DuplicateTiers()
        _tier_tables_drop()


# --- rotation and erasure -----------------------------------------------------------------------

Progress = Callable[[int], object]


def kek_rotate(*, actor: Actor, batch_size: int = 500, progress: Progress | None = None) -> tuple[int, int]:
    """Adds a KEK version and rewraps every data key under it; returns (version, rewrapped).

    Resumable: it rewraps whatever is not yet under the current version, so after a crash running
    it again (``resume=True`` in the CLI) finishes the job. Each batch is one transaction and only
    replaces a wrapped key that has not changed meanwhile, so reads and writes go on during it.
    """
    passphrase = passphrase_from_env()
    version = add_kek_version(Path(settings.LEGIONARY_KEYRING), passphrase)
    with transaction.atomic():
        audit_record(actor=actor.name, action="keys.kek_rotated", details={"version": version})
    return version, kek_rewrap(batch_size=batch_size, progress=progress)


def kek_rewrap(*, batch_size: int = 500, progress: Progress | None = None) -> int:
    provider = key_provider()
    current = provider.current_kek_version()
    done = 0
    last_pk = ""
    while True:
        batch = list(
            SealedIdentity.objects.filter(person_id__gt=last_pk)
            .exclude(kek_version=current)
            .order_by("person_id")
            .values_list("person_id", "kek_version", "wrapped_dek")[:batch_size]
        )
        if not batch:
            return done
        with transaction.atomic():
            for person_id, old_version, wrapped in batch:
                dek = provider.unwrap_dek(old_version, bytes(wrapped), _aad(person_id))
                new_version, new_wrapped = provider.wrap_dek(dek, _aad(person_id))
                done += SealedIdentity.objects.filter(
                    person_id=person_id, kek_version=old_version, wrapped_dek=wrapped
                ).update(kek_version=new_version, wrapped_dek=new_wrapped)
        last_pk = batch[-1][0]
        if progress:
            progress(len(batch))


def kek_pending() -> int:
    return SealedIdentity.objects.exclude(kek_version=key_provider().current_kek_version()).count()


def index_rotate(*, actor: Actor, batch_size: int = 200, progress: Progress | None = None) -> tuple[int, int]:
    """Adds an index key version and recomputes every blind index from plaintext; returns (version, people)."""
    version = add_index_key_version(Path(settings.LEGIONARY_KEYRING), passphrase_from_env())
    with transaction.atomic():
        audit_record(actor=actor.name, action="keys.index_rotated", details={"version": version})
    return version, reindex(batch_size=batch_size, progress=progress)


def reindex(*, batch_size: int = 200, progress: Progress | None = None) -> int:
    """Recomputes the blind indexes of every person not yet indexed under the current key version."""
    provider = key_provider()
    current = provider.current_index_key_version()
    done = 0
    last_pk = ""
    while True:
        people = list(
            Person.objects.filter(id__gt=last_pk, sealed__isnull=False)
            .exclude(blind_indexes__key_version=current)
            .order_by("id")[:batch_size]
        )
        if not people:
            return done
        with transaction.atomic():
            for person in people:
                identity = _open_identity(person, provider)
                BlindIndex.objects.filter(person=person).delete()
                BlindIndex.objects.bulk_create(_index_rows(person.id, identity, provider))
                done += 1
        last_pk = people[-1].id
        if progress:
            progress(len(people))


def identity_erase(*, person: Person, actor: Actor, reason: str, keep_indexes: bool = False) -> None:
    """Crypto-shreds a person: data key, sealed identity and records, files and index rows go.

    The pseudonymous person stays, marked erased, with his operational records. ``keep_indexes``
    keeps the blind-index rows (a denied applicant's, so a re-application is still caught).
    """
    _require(actor, Perm.ERASE_IDENTITY, person)
    reason = visible_reason(reason)
    if not reason:
        raise IdentityError("Write the reason for the erasure (at least a few words).")
    erase_person_data(person=person, actor_name=actor.name, reason=reason, keep_indexes=keep_indexes)


def erase_person_data(*, person: Person, actor_name: str, reason: str, keep_indexes: bool = False) -> None:
    """The erasure itself, for callers that have already checked permission (CLI, retention)."""
    document_ids = list(SealedDocument.objects.filter(person=person).values_list("id", flat=True))
    # Journaled before the commit, outside the database, so a restore re-applies it (docs/reliability.md).
    erasure_journal.journal_append(person_id=person.id, erased_at=timezone.now(), keep_indexes=keep_indexes)
    with transaction.atomic():
        SealedIdentity.objects.filter(person=person).delete()
        SealedRecord.objects.filter(person=person).delete()
        SealedDocument.objects.filter(person=person).delete()
        if not keep_indexes:
            BlindIndex.objects.filter(person=person).delete()
        person.erased_at = timezone.now()
        person.save(update_fields=["erased_at"])
        audit_record(
            actor=actor_name,
            action="identity.erased",
            subject=person.id,
            details={"reason": reason[:500], "kept_indexes": keep_indexes},
        )
    document_discard_files(document_ids)
    if connection.vendor == "sqlite":
        # secure_delete zeroes the freed pages; the checkpoint pushes them out of the WAL too.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def people_by_ids(ids: Iterable[str]) -> dict[str, Person]:
    return {p.id: p for p in Person.objects.filter(id__in=list(ids))}

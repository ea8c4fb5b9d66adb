"""Server-side drafts of the step-by-step application form, sealed with a key held by the browser.

The draft cookie holds a random 32-byte token. HMAC-SHA256 of it under two labels gives the row's
id and an AES-256-GCM key; the server stores only the id and the ciphertext, never the token, so
neither the database nor a backup can open a draft. A draft holds the answers of the steps done so
far (strings, as typed), and after submission only the receipt, until the confirmation page has
shown it once. Uploads are never in a draft: they are attached on the last page, sent with it.

Claiming a draft (``take``) deletes its row: of two concurrent submissions of one draft, only one
gets it, so a double click, a reload or going back and sending again cannot apply twice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from legionary.db import upsert
from legionary.intake.models import ApplicationDraft

# How long a draft lives without a step being saved; also the cookie's lifetime.
DRAFT_SECONDS = 2 * 3600
_NONCE = 12
# A process forgets abandoned drafts (older than DRAFT_SECONDS) when it saves one, at most once per
# this many seconds: not one more DELETE and commit for every step saved. An expired draft can
# never be opened meanwhile (``load`` reads only drafts younger than DRAFT_SECONDS).
SWEEP_SECONDS = 60.0
_next_sweep = 0.0


def cookie_name() -> str:
    return "__Host-legionary-apply" if settings.SESSION_COOKIE_SECURE else "legionary-apply"


@dataclass
class Draft:
    """The answers so far: ``answers`` maps a form field's name to what was typed (a string or list)."""

    token: bytes
    answers: dict[str, Any] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)  # the steps completed, in order
    rows: dict[str, int] = field(default_factory=dict)  # rows shown for "add another" groups
    receipt: str | None = None
    fresh: bool = False  # made by this request: the cookie must be set

    @property
    def row_id(self) -> str:
        return hmac.new(self.token, b"legionary draft id", hashlib.sha256).hexdigest()

    def _key(self) -> bytes:
        return hmac.new(self.token, b"legionary draft key", hashlib.sha256).digest()

    def _payload(self) -> dict[str, Any]:
        return {"answers": self.answers, "done": self.done, "rows": self.rows, "receipt": self.receipt}

    def seal(self) -> bytes:
        nonce = os.urandom(_NONCE)
        plain = json.dumps(self._payload(), ensure_ascii=False, separators=(",", ":")).encode()
        return nonce + AESGCM(self._key()).encrypt(nonce, plain, self.row_id.encode())

    def open(self, blob: bytes) -> bool:
        try:
            plain = AESGCM(self._key()).decrypt(blob[:_NONCE], blob[_NONCE:], self.row_id.encode())
            payload = json.loads(plain)
        except (InvalidTag, ValueError):
            return False
        self.answers = dict(payload.get("answers") or {})
        self.done = list(payload.get("done") or [])
        self.rows = {str(k): int(v) for k, v in (payload.get("rows") or {}).items()}
        self.receipt = payload.get("receipt")
        return True


def _token_from(request: HttpRequest) -> bytes | None:
    raw = request.COOKIES.get(cookie_name(), "")
    try:
        token = base64.urlsafe_b64decode(raw.encode("ascii") + b"==") if raw else b""
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    return token if len(token) == 32 else None


def _expired_before() -> Any:
    return timezone.now() - timedelta(seconds=DRAFT_SECONDS)


def load(request: HttpRequest) -> Draft | None:
    """The draft the request's cookie opens, or None (no cookie, expired, or already sent)."""
    token = _token_from(request)
    if token is None:
        return None
    draft = Draft(token)
    row = ApplicationDraft.objects.filter(pk=draft.row_id, updated_at__gte=_expired_before()).first()
    if row is None or not draft.open(bytes(row.sealed)):
        return None
    return draft


def load_or_new(request: HttpRequest) -> Draft:
    return load(request) or Draft(secrets.token_bytes(32), fresh=True)


def save(draft: Draft) -> None:
    """Stores the draft (sealed) and forgets drafts abandoned for longer than DRAFT_SECONDS (at most
    once per SWEEP_SECONDS in a process)."""
    global _next_sweep
    now = time.monotonic()
    if now >= _next_sweep:
        _next_sweep = now + SWEEP_SECONDS
        ApplicationDraft.objects.filter(updated_at__lt=_expired_before()).delete()
    # One upsert (INSERT ... ON CONFLICT DO UPDATE) rather than update_or_create's locking read,
    # savepoint and insert: a draft's row is only ever written whole. Not bulk_create's, which
    # wraps its statement in a transaction: outside one that is BEGIN and COMMIT more for the server.
    upsert(
        ApplicationDraft(pk=draft.row_id, sealed=draft.seal(), updated_at=timezone.now()),
        "id",
        ["sealed", "updated_at"],
    )


def take(draft: Draft) -> bool:
    """Deletes the draft's row; True for the one request that deleted it (the one that may submit).

    One statement: the ORM's delete would wrap it in a transaction of its own (BEGIN, DELETE,
    COMMIT), and nothing refers to a draft, so there is nothing to cascade."""
    table = connection.ops.quote_name(ApplicationDraft._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [draft.row_id])  # noqa: S608 — quoted model table, placeholder only
        return bool(cursor.rowcount and cursor.rowcount > 0)


def take_sent(request: HttpRequest) -> tuple[Draft | None, str | None]:
    """For the confirmation page: (the draft the request's cookie opens, its receipt), the receipt
    only to the one request that deleted the draft holding it, so it is shown once.

    One statement in the usual case (``DELETE ... RETURNING``): the row is claimed as it is read,
    where ``load`` and ``take`` were two. A draft not sent yet (no receipt: the address opened in
    the middle of the form) is put back as it was, unless a step saved meanwhile wrote a newer one.
    """
    token = _token_from(request)
    if token is None:
        return None, None
    draft = Draft(token)
    table = connection.ops.quote_name(ApplicationDraft._meta.db_table)
    updated = ApplicationDraft._meta.get_field("updated_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id = %s AND updated_at >= %s RETURNING sealed, updated_at",  # noqa: S608 — quoted model table, placeholders
            [draft.row_id, updated.get_db_prep_value(_expired_before(), connection)],
        )
        row = cursor.fetchone()
    if row is None or not draft.open(bytes(row[0])):
        return None, None  # nothing to show (a row that does not open never will: it is gone)
    if draft.receipt is None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (id, sealed, updated_at) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",  # noqa: S608 — quoted model table, placeholders
                [draft.row_id, row[0], row[1]],
            )
        return draft, None
    return draft, draft.receipt


def forget(request: HttpRequest, response: HttpResponse) -> None:
    draft = load(request)
    if draft is not None:
        take(draft)
    response.delete_cookie(cookie_name(), path="/", samesite="Strict")


def set_cookie(response: HttpResponse, draft: Draft) -> None:
    response.set_cookie(
        cookie_name(),
        base64.urlsafe_b64encode(draft.token).rstrip(b"=").decode("ascii"),
        max_age=DRAFT_SECONDS,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )

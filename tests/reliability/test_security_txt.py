"""``/.well-known/security.txt`` (RFC 9116): public, plain text, a contact and an expiry under a year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import Client


def test_security_txt_names_a_contact_and_expires_within_a_year(db: None) -> None:
    response = Client().get("/.well-known/security.txt", secure=True)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    fields = dict(line.split(": ", 1) for line in response.content.decode().splitlines())
    assert fields["Contact"].startswith(("mailto:", "https://"))
    expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert datetime.now(UTC) < expires < datetime.now(UTC) + timedelta(days=365)
    assert fields["Canonical"].endswith("/.well-known/security.txt")


def test_security_txt_answers_only_reads(db: None) -> None:
    assert Client().post("/.well-known/security.txt", secure=True).status_code == 405

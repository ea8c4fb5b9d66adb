"""DATABASE_URL mistakes answered plainly: a wrong password is reported as such, and a password
with an unencoded / @ # ? is refused with the advice to percent-encode it."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import dj_database_url
import pytest
from hypothesis import given
from hypothesis import strategies as st

from legionary.settings import _password_needs_encoding
from tests.core.instance import legionary_env, run_legionary
from tests.pgserver import postgres_server

PASSWORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40)


@given(PASSWORDS)
def test_a_percent_encoded_password_is_accepted_and_parses_back_to_itself(password: str) -> None:
    url = f"postgres://someone:{urllib.parse.quote(password, safe='')}@db.example.org:5432/legionary"
    assert not _password_needs_encoding(url)
    assert dj_database_url.parse(url)["PASSWORD"] == password


@given(PASSWORDS, st.sampled_from("/@#?"), PASSWORDS)
def test_a_password_with_a_raw_slash_at_hash_or_question_mark_needs_encoding(before: str, raw: str, after: str) -> None:
    password = urllib.parse.quote(before, safe="") + raw + urllib.parse.quote(after, safe="")
    assert _password_needs_encoding(f"postgres://someone:{password}@db.example.org:5432/legionary")


@pytest.mark.parametrize("password", ["pa/ss", "p@ss", "50%off"])
def test_the_cli_says_to_percent_encode_and_never_echoes_the_password(tmp_path: Path, password: str) -> None:
    env = legionary_env(tmp_path / "home", f"postgres://someone:{password}@127.0.0.1:1/nothing")
    result = run_legionary(env, "init")
    assert result.returncode == 2
    assert result.stderr.startswith("legionary: ") and len(result.stderr.strip().splitlines()) == 1
    assert "percent-encoded" in result.stderr
    assert password not in result.stderr


def test_a_wrong_database_password_is_reported_as_a_wrong_password(tmp_path: Path) -> None:
    with postgres_server(password="right horse / battery") as url:
        parts = urllib.parse.urlsplit(url)
        wrong = parts._replace(
            netloc=f"postgres:{urllib.parse.quote('wrong-one', safe='')}@{parts.hostname}:{parts.port}"
        )
        result = run_legionary(legionary_env(tmp_path / "home", urllib.parse.urlunsplit(wrong)), "init")
        assert result.returncode == 2
        assert result.stderr.startswith("legionary: ") and len(result.stderr.strip().splitlines()) == 1
        assert "refused the password of user 'postgres'" in result.stderr
        assert "does not answer" not in result.stderr and "wrong-one" not in result.stderr
        # And with the right one, percent-encoded, init works.
        assert run_legionary(legionary_env(tmp_path / "home", url), "init").returncode == 0

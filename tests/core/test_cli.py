"""The ``legionary`` command as a user runs it: exit codes, one-sentence errors, init, staff accounts.

Every test runs the installed console script in a subprocess with production settings, as in
../shared/contract/cli.md.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import stat
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.instance import fresh_database, legionary_env, run_legionary, served

DEAD_DATABASE_URL = "postgres://someone:hunter2-secret@127.0.0.1:1/nothing"


def assert_one_sentence_error(stderr: str) -> None:
    """What the contract asks of an error: short, plain, no traceback."""
    assert "Traceback" not in stderr
    assert stderr.startswith("legionary: ")
    assert len(stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of one initialised instance, shared by the tests that only read it."""
    with fresh_database() as database_url:
        env = legionary_env(tmp_path_factory.mktemp("cli") / "home", database_url)
        done = run_legionary(env, "init")
        assert done.returncode == 0, done.stderr
        yield env


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of an instance that has not been initialised yet."""
    with fresh_database() as database_url:
        yield legionary_env(tmp_path / "home", database_url)


def test_an_unknown_verb_exits_2_with_one_sentence(initialised: dict[str, str]) -> None:
    result = run_legionary(initialised, "frobnicate")
    assert result.returncode == 2
    assert_one_sentence_error(result.stderr)
    assert "frobnicate" in result.stderr and "legionary help" in result.stderr


def test_a_home_under_a_regular_file_exits_2_for_init_and_other_verbs(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = legionary_env(blocker / "home")
    for verb in ("init", "staff"):
        result = run_legionary(env, verb, *(["list"] if verb == "staff" else []))
        assert result.returncode == 2
        assert_one_sentence_error(result.stderr)
        assert "LEGIONARY_HOME" in result.stderr


def test_a_database_that_does_not_answer_exits_2_without_echoing_the_password(tmp_path: Path) -> None:
    env = legionary_env(tmp_path / "home", DEAD_DATABASE_URL)
    for args in (["init"], ["staff", "list"]):
        result = run_legionary(env, *args)
        assert result.returncode == 2, result.stderr
        assert_one_sentence_error(result.stderr)
        assert "does not answer" in result.stderr and "DATABASE_URL" in result.stderr
        assert "hunter2" not in result.stderr + result.stdout


def test_a_database_url_that_is_not_postgresql_exits_2(tmp_path: Path) -> None:
    result = run_legionary(legionary_env(tmp_path / "home", "mysql://someone:hunter2-secret@db/x"), "init")
    assert result.returncode == 2
    assert_one_sentence_error(result.stderr)
    assert "PostgreSQL" in result.stderr and "hunter2" not in result.stderr


def test_a_command_before_init_exits_2_and_says_to_run_init(fresh: dict[str, str]) -> None:
    result = run_legionary(fresh, "staff", "list")
    assert result.returncode == 2
    assert_one_sentence_error(result.stderr)
    assert "legionary init" in result.stderr


def test_init_twice_keeps_every_key_and_leaves_secrets_readable_by_the_owner_only(fresh: dict[str, str]) -> None:
    home = Path(fresh["LEGIONARY_HOME"])
    assert run_legionary(fresh, "init").returncode == 0
    secrets = ["keyring", "secret_key", "audit-signing.key"]
    if "DATABASE_URL" not in fresh:
        secrets.append("legionary.sqlite3")
    before = {name: (home / name).read_bytes() for name in secrets if name != "legionary.sqlite3"}
    again = run_legionary(fresh, "init")
    assert again.returncode == 0, again.stderr
    assert "Keyring: kept" in again.stdout
    assert {name: (home / name).read_bytes() for name in before} == before
    modes = {name: stat.S_IMODE((home / name).stat().st_mode) for name in secrets}
    assert modes == dict.fromkeys(secrets, 0o600)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_the_deploy_check_passes_clean_under_production_settings(initialised: dict[str, str]) -> None:
    assert "LEGIONARY_HTTPS" not in initialised
    result = run_legionary(initialised, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_staff_add_prints_the_initial_password_as_json_and_list_shows_the_grant(initialised: dict[str, str]) -> None:
    added = run_legionary(initialised, "staff", "add", "dora", "--role", "auditor", "--scope", "legion:frl", "--json")
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    assert created["username"] == "dora" and len(created["password"]) >= 20
    listed = run_legionary(initialised, "staff", "list", "--json")
    assert listed.returncode == 0
    staff = {row["username"]: row for row in json.loads(listed.stdout)["staff"]}
    assert staff["dora"] == {"username": "dora", "active": True, "grants": ["auditor@legion:frl"]}
    # Nobody's password is listed.
    assert created["password"] not in listed.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "emperor"], "invalid choice: 'emperor'"),
        (["--role", "auditor", "--scope", "galaxy:far"], "Unknown scope 'galaxy:far'"),
        (["--role", "auditor", "--scope", "unit:"], "Unknown scope 'unit:'"),
    ],
)
def test_staff_add_with_a_bad_role_or_scope_exits_2_and_creates_nobody(
    initialised: dict[str, str], args: list[str], says: str
) -> None:
    result = run_legionary(initialised, "staff", "add", "eve", *args)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    listed = json.loads(run_legionary(initialised, "staff", "list", "--json").stdout)
    assert "eve" not in {row["username"] for row in listed["staff"]}


def test_staff_add_twice_with_one_name_exits_2(initialised: dict[str, str]) -> None:
    assert run_legionary(initialised, "staff", "add", "frank", "--role", "instructor").returncode == 0
    again = run_legionary(initialised, "staff", "add", "frank", "--role", "instructor")
    assert again.returncode == 2
    assert_one_sentence_error(again.stderr)
    assert "already exists" in again.stderr


def _sign_in(opener: urllib.request.OpenerDirector, base_url: str, username: str, password: str) -> tuple[int, str]:
    """Posts the login form as a browser would; returns the final status and URL."""
    with opener.open(base_url + "/login/") as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
    assert token is not None
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password, "code": ""}
    ).encode()
    try:
        with opener.open(base_url + "/login/", data=form) as response:
            return int(response.status), str(response.url)
    except urllib.error.HTTPError as exc:
        return int(exc.code), str(exc.url)


def test_a_locked_out_account_is_unlocked_with_legionary_staff_unlock(
    initialised: dict[str, str], tmp_path: Path
) -> None:
    # The operations guide tells operators to do exactly this.
    env = {**initialised, "LEGIONARY_HTTPS": "0"}
    password = json.loads(run_legionary(env, "staff", "add", "gina", "--role", "auditor", "--json").stdout)["password"]
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with served(env, tmp_path / "server.log") as server:
        # The fifth failure reaches the limit and is already answered as locked.
        answers = [_sign_in(opener, server.base_url, "gina", "wrong password")[0] for _ in range(5)]
        assert answers == [200, 200, 200, 200, 429]
        assert _sign_in(opener, server.base_url, "gina", password)[0] == 429
        reset = run_legionary(env, "staff", "unlock", "gina")
        assert reset.returncode == 0, reset.stderr
        status, url = _sign_in(opener, server.base_url, "gina", password)
    assert (status, url) == (200, server.base_url + "/login/enrol/")

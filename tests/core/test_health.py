"""``/healthz`` says ok while the database answers and "not ok" (503) when it does not.

The failure is real: a served instance whose database goes away (on SQLite its folder is moved
aside, on PostgreSQL its database is dropped), not a stand-in for our code.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from tests.core.instance import (
    database_name,
    drop_database,
    fresh_database,
    http_get,
    legionary_env,
    run_legionary,
    served,
    start_from_migrated,
)


@pytest.mark.django_db
def test_the_health_check_says_ok_and_nothing_else_without_signing_in() -> None:
    response = Client().get("/healthz", secure=True)
    assert response.status_code == 200
    assert response.content == b"ok\n" and response["Content-Type"] == "text/plain"
    assert "no-cache" in response["Cache-Control"]


@pytest.fixture
def instance_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with fresh_database(migrated=True) as database_url:
        env = legionary_env(tmp_path / "home", database_url, LEGIONARY_HTTPS="0")
        start_from_migrated(env)
        done = run_legionary(env, "init")
        assert done.returncode == 0, done.stderr
        yield env


def test_the_health_check_says_not_ok_with_503_when_the_database_goes_away(
    instance_env: dict[str, str], tmp_path: Path
) -> None:
    admin_url = os.environ.get("DATABASE_URL")
    home = Path(instance_env["LEGIONARY_HOME"])
    with served(instance_env, tmp_path / "server.log") as server:
        assert http_get(server.base_url + "/healthz") == (200, b"ok\n")
        # When: the database disappears under the running server.
        if admin_url:
            drop_database(admin_url, database_name(instance_env["DATABASE_URL"]))
        else:
            shutil.move(home, tmp_path / "home-gone")
        # Then: not ok, and no detail of why.
        assert http_get(server.base_url + "/healthz") == (503, b"not ok\n")
        if not admin_url:
            # When: it comes back, so does the service.
            shutil.move(tmp_path / "home-gone", home)
            assert http_get(server.base_url + "/healthz") == (200, b"ok\n")

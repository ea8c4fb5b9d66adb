"""Faults injected into real processes: ``kill -9`` of the import, of key rotation and of the server
under load, and a missing or wrong keyring. After each: no partial record, every identity opens,
the audit log verifies, and the work resumes.

Kill points are random (seeded per run and printed, so a failure can be replayed with
``RELIABILITY_SEED``); every wait is bounded by ``BOUND`` and never asserted on.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.core.instance import LEGIONARY, free_port, http_get
from tests.intake.helpers import application
from tests.reliability.conftest import BOUND, Instance, MakeInstance, applications_file

SEED = int(os.environ.get("RELIABILITY_SEED") or random.SystemRandom().randrange(1 << 30))
chance = random.Random(SEED)  # noqa: S311 — kill timing, not security; seeded so a run can be replayed


def _no_partial_records(instance: Instance) -> dict[str, object]:
    state = instance.tool("integrity")
    for key in ("without_identity", "without_case", "without_index", "without_audit"):
        assert state[key] == [], (key, SEED)
    for key in ("orphan_identities", "orphan_indexes", "orphan_cases"):
        assert state[key] == 0, (key, SEED)
    return state


def _kill_after(process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=BOUND)


def _wait_for_people(instance: Instance, at_least: int) -> None:
    deadline = time.monotonic() + BOUND
    while instance.tool("integrity")["people"] < at_least:
        assert time.monotonic() < deadline, "the process never got going"
        time.sleep(0.2)


def test_an_import_killed_at_a_random_point_leaves_whole_records_and_the_rerun_completes(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    instance = make_instance()
    # Batched import is quick: enough lines, in small batches, that a kill lands mid-run and
    # several transactions have committed by then.
    total = 3000
    source = applications_file(tmp_path / "big.jsonl", total)
    process = subprocess.Popen(
        [LEGIONARY, "import", str(source), "--json", "--batch-size", "25"],
        env=instance.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_for_people(instance, 1)
    _kill_after(process, chance.uniform(0.2, 1.5))
    assert process.returncode == -signal.SIGKILL, f"the import finished before the kill (seed {SEED})"

    stored = _no_partial_records(instance)["people"]
    assert 0 < int(str(stored)) < total, SEED
    assert "intact" in instance.run("audit", "verify").stdout

    result = instance.run("import", str(source), "--json")
    assert json.loads(result.stdout)["rejected"] == []
    state = _no_partial_records(instance)
    assert state["external_refs"] == [f"r-{i:06d}" for i in range(total)]
    assert "intact" in instance.run("audit", "verify").stdout


def test_a_key_rotation_killed_mid_run_is_finished_by_resume_and_every_identity_opens(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    instance = make_instance()
    instance.run("import", str(applications_file(tmp_path / "people.jsonl", 300)))
    before = instance.tool("open-all")["identities"]
    keyring = instance.home / "keyring"
    unrotated = keyring.stat().st_mtime_ns
    process = subprocess.Popen(
        [LEGIONARY, "keys", "rotate", "--batch-size", "1"],
        env=instance.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # The rotation has begun once the new KEK version is in the keyring file; kill it soon after.
    deadline = time.monotonic() + BOUND
    while keyring.stat().st_mtime_ns == unrotated and process.poll() is None:
        assert time.monotonic() < deadline, "the rotation never started"
        time.sleep(0.005)
    _kill_after(process, chance.uniform(0.0, 0.3))
    assert process.returncode == -signal.SIGKILL, f"the rotation finished before the kill (seed {SEED})"

    # Half-rotated: every identity still opens, under whichever version wraps it now.
    assert instance.tool("open-all")["identities"] == before
    instance.run("keys", "rotate", "--resume", "--batch-size", "50")
    status = instance.run("keys", "status").stdout
    assert "older version: 0" in status
    assert instance.tool("open-all")["identities"] == before
    _no_partial_records(instance)
    assert "intact" in instance.run("audit", "verify").stdout


def _post_application(base: str, ref: str) -> int:
    body = json.dumps(application(external_ref=ref, identity__documents=[], identity__next_of_kin=[])).encode()
    body = body.replace(b"QZ 7719 40321", ref.encode())
    request = urllib.request.Request(  # noqa: S310 — our own loopback server
        base + "/api/v1/applications", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 — our own loopback server
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0  # the server died under us: the request's fate is what the database says


def _serve(instance: Instance, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        server = subprocess.Popen(
            [LEGIONARY, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=instance.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + BOUND
    while True:
        assert server.poll() is None, log.read_text(errors="replace")
        try:
            if http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.1)


def test_a_server_killed_under_load_restarts_with_no_partial_record(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    instance = make_instance(LEGIONARY_HTTPS="0")
    port = free_port()
    server = _serve(instance, port, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    statuses: list[int] = []
    stop = threading.Event()

    def client(number: int) -> None:
        sent = 0
        while not stop.is_set() and sent < 200:
            statuses.append(_post_application(base, f"load-{number}-{sent}"))
            sent += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        _wait_for_people(instance, 3)
        time.sleep(chance.uniform(0.1, 1.5))
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=BOUND)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=BOUND)
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert not [s for s in statuses if s >= 500], (statuses, SEED)
    accepted = statuses.count(201)
    state = _no_partial_records(instance)
    # Every answered 201 was stored; a request cut off by the kill is stored whole or not at all.
    assert int(str(state["people"])) >= accepted

    server = _serve(instance, port, tmp_path / "serve.log")
    try:
        assert _post_application(base, "after-restart") == 201
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=BOUND)
    _no_partial_records(instance)
    assert "intact" in instance.run("audit", "verify").stdout


def test_serve_refuses_to_start_without_the_keyring_and_says_to_put_it_back(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    instance = make_instance(LEGIONARY_HTTPS="0")
    instance.run("import", str(applications_file(tmp_path / "people.jsonl", 2)))
    (instance.home / "keyring").rename(tmp_path / "keyring.away")

    result = instance.run("serve", "--port", str(free_port()), check=False, timeout=60)

    assert result.returncode == 2
    assert "put it back from your keyring backup" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_to_start_with_another_instances_keyring(make_instance: MakeInstance, tmp_path: Path) -> None:
    instance = make_instance(LEGIONARY_HTTPS="0")
    instance.run("import", str(applications_file(tmp_path / "people.jsonl", 2)))
    stranger = make_instance()
    (instance.home / "keyring").write_bytes((stranger.home / "keyring").read_bytes())

    result = instance.run("serve", "--port", str(free_port()), check=False, timeout=60)

    assert result.returncode == 2
    assert "does not open this database's data keys" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("verb", ["import", "keys"])
def test_other_verbs_refuse_a_wrong_keyring_before_writing(
    make_instance: MakeInstance, tmp_path: Path, verb: str
) -> None:
    instance = make_instance()
    people = applications_file(tmp_path / "people.jsonl", 2)
    instance.run("import", str(people))
    stranger = make_instance()
    (instance.home / "keyring").write_bytes((stranger.home / "keyring").read_bytes())
    args = (
        ["import", str(applications_file(tmp_path / "more.jsonl", 2, prefix="m"))]
        if verb == "import"
        else ["keys", "rotate"]
    )

    result = instance.run(*args, check=False)

    assert result.returncode == 2
    assert "does not open this database's data keys" in result.stderr
    assert instance.tool("integrity")["people"] == 2

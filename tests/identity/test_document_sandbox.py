"""The document sandbox's processes (``identity.documents``): a zygote that holds nothing of the web
worker, and one fresh child per document, killed when it overstays. What the decoders accept and
refuse is tests/identity/test_documents.py."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from legionary.identity import documents
from legionary.identity.documents import DocumentRefused, Limits, inspect_upload
from tests.identity import files


@pytest.fixture
def zygote(monkeypatch: pytest.MonkeyPatch) -> Iterator[documents._Zygote]:
    """A zygote of this test's own, started with a keyring passphrase in the worker's environment."""
    monkeypatch.setenv("LEGIONARY_KEYRING_PASSPHRASE", "a passphrase the sandbox must never see")
    own = documents._Zygote()
    monkeypatch.setattr(documents, "_zygote", own)
    try:
        yield own
    finally:
        own._stop()


@pytest.fixture
def child_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pid each child reported before it was given its document (the pidfd the parent opened)."""
    seen: list[int] = []
    real = os.pidfd_open

    def recording(pid: int, flags: int = 0) -> int:
        seen.append(pid)
        return real(pid, flags)

    monkeypatch.setattr(documents.os, "pidfd_open", recording)
    return seen


def zygote_pid(zygote: documents._Zygote) -> int:
    assert zygote._process is not None
    return zygote._process.pid


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def gone(pid: int, within: float = 30.0) -> bool:
    """Whether the process ``pid`` ends within ``within`` seconds (a bound on waiting, not a measurement)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _zombie(pid):  # ended, not yet reaped by its parent (this process, for a zygote)
            return True
        time.sleep(0.05)
    return False


def test_the_zygote_has_no_environment_and_no_descriptor_of_the_worker(zygote: documents._Zygote) -> None:
    assert inspect_upload(files.png(), "image/png").kind == documents.PNG
    pid = zygote_pid(zygote)
    # Children are forks of the zygote: what it lacks, they lack.
    assert Path(f"/proc/{pid}/environ").read_bytes() == b""
    # Besides stdin, stdout and stderr, one descriptor: its control socket (no database connection,
    # no file of the worker's).
    (control,) = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")} - {0, 1, 2}
    assert os.readlink(f"/proc/{pid}/fd/{control}").startswith("socket:")


def test_each_document_is_decoded_in_a_child_of_its_own(zygote: documents._Zygote, child_pids: list[int]) -> None:
    for _ in range(3):
        assert inspect_upload(files.pdf(), "application/pdf").kind == documents.PDF
    assert len(child_pids) == 3
    assert len(set(child_pids)) == 3, "a child served more than one document"
    assert zygote_pid(zygote) not in child_pids
    assert os.getpid() not in child_pids
    assert all(gone(pid) for pid in child_pids)  # each exits once it has answered


def test_a_child_that_overstays_is_killed(zygote: documents._Zygote, child_pids: list[int]) -> None:
    with pytest.raises(DocumentRefused) as refused:
        inspect_upload(files.pdf(3), "application/pdf", limits=Limits(wall_seconds=0.000001))
    assert refused.value.code == "limits"
    (pid,) = child_pids
    assert gone(pid)


def test_the_limits_are_set_in_the_child_for_each_document(zygote: documents._Zygote) -> None:
    """One child fails at a small memory limit; the next document, under the default limits, is
    decoded: a limit belongs to the child that had it, never to the zygote or the next child."""
    large = files.jpeg(7000, 7000)  # 147 MB once decoded
    with pytest.raises(DocumentRefused) as refused:
        inspect_upload(large, "image/jpeg", limits=Limits(memory_bytes=200 * 1024 * 1024))
    assert refused.value.code == "limits"
    assert inspect_upload(large, "image/jpeg").width == 7000


def test_a_dead_zygote_is_replaced(zygote: documents._Zygote) -> None:
    assert inspect_upload(files.png(), "image/png").kind == documents.PNG
    first = zygote_pid(zygote)
    os.kill(first, signal.SIGKILL)
    assert gone(first)
    assert inspect_upload(files.png(), "image/png").kind == documents.PNG
    assert zygote_pid(zygote) != first


def test_the_zygote_ends_when_its_worker_lets_go(zygote: documents._Zygote) -> None:
    assert inspect_upload(files.png(), "image/png").kind == documents.PNG
    pid = zygote_pid(zygote)
    zygote._stop()
    assert gone(pid)

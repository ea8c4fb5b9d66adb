"""The checkpoint kept beside the keyring: only ever replaced by a larger one, written only once
its transaction commits, and checked by `legionary audit verify` by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from legionary.audit import kept_checkpoint
from legionary.audit.services import audit_record, checkpoint_now
from tests.audit.conftest import MakeLog, run_audit


def test_a_smaller_checkpoint_never_replaces_a_larger_one(
    make_log: MakeLog, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        make_log(3)
        small = checkpoint_now().note
    with django_capture_on_commit_callbacks(execute=True):
        make_log(2)
        large = checkpoint_now().note
    assert kept_checkpoint.read() == large
    assert kept_checkpoint.keep(small) is False
    assert kept_checkpoint.read() == large


def test_a_checkpoint_whose_transaction_rolls_back_is_not_kept(
    make_log: MakeLog, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_log(1)
        with pytest.raises(RuntimeError), transaction.atomic():
            audit_record(actor="officer-1", action="login.success")
            checkpoint_now()
            raise RuntimeError("the action failed")
    # Only the first append's checkpoint (size 1) waits for the commit; the rolled-back one (size 2) not.
    for callback in callbacks:
        callback()
    assert kept_checkpoint.note_size(kept_checkpoint.read() or "") == 1


def test_verify_names_an_unreadable_kept_checkpoint_as_a_usage_error(
    make_log: MakeLog, settings: Any, tmp_path: Path
) -> None:
    make_log(2)
    folder = tmp_path / "a-folder-not-a-file"
    folder.mkdir()
    settings.LEGIONARY_AUDIT_CHECKPOINT = folder
    run = run_audit("verify")
    assert run.code == 2
    assert f"The audit checkpoint kept at {folder} cannot be read" in run.err


def test_verify_without_the_kept_checkpoint_skips_it_on_request(
    make_log: MakeLog, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        make_log(4)
        checkpoint_now()
    assert run_audit("verify", "--json").json()["kept_checkpoint"] == 4
    assert run_audit("verify", "--without-kept-checkpoint", "--json").json()["kept_checkpoint"] is None

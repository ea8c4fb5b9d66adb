"""Real instances for the reliability tests: a LEGIONARY_HOME (and, on PostgreSQL, a database) each.

Every subprocess wait here is bounded (``BOUND``) so that a hung child fails the test instead of
the run; the bound is a guard, never an assertion about speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.core.instance import LEGIONARY, fresh_database, legionary_env, start_from_migrated
from tests.intake.helpers import application

BOUND = 300
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Instance:
    home: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = BOUND) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [LEGIONARY, *args], env=self.env, capture_output=True, text=True, check=False, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(f"legionary {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def tool(self, command: str) -> dict[str, Any]:
        """Runs ``tests.reliability.instance_tool COMMAND`` inside this instance."""
        result = subprocess.run(
            [sys.executable, "-m", "tests.reliability.instance_tool", command],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=BOUND,
        )
        assert result.returncode == 0, result.stderr
        value: dict[str, Any] = json.loads(result.stdout)
        return value


MakeInstance = Callable[..., Instance]


@pytest.fixture
def make_instance(tmp_path: Path) -> Iterator[MakeInstance]:
    """Initialised instances; ``keys_from`` copies another instance's keyring folder first."""
    with ExitStack() as stack:
        count = 0

        def make(keys_from: Instance | None = None, **extra: str) -> Instance:
            nonlocal count
            count += 1
            home = tmp_path / f"home{count}"
            home.mkdir(mode=0o700)
            if keys_from is not None:
                for name in ("keyring", "audit-signing.key", "erasures.journal", "backup.pub"):
                    source = keys_from.home / name
                    if source.exists():
                        (home / name).write_bytes(source.read_bytes())
                        (home / name).chmod(0o600)
            url = stack.enter_context(fresh_database(migrated=True))
            instance = Instance(home=home, env=legionary_env(home, url, **extra))
            start_from_migrated(instance.env)
            instance.run("init")
            return instance

        yield make


def applications_file(path: Path, count: int, prefix: str = "r") -> Path:
    """``count`` obviously synthetic applications as JSON Lines, each with its own identity."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            data = application(
                external_ref=f"{prefix}-{i:06d}",
                identity__given_names=f"Zebulon{_letters(i)}",
                identity__family_name=f"Xylograph{_letters(i * 7 + 3)}",
                identity__date_of_birth=f"19{70 + i % 30}-0{1 + i % 9}-1{i % 10}",
                identity__documents=[{"kind": "passport", "country": "RU", "number": f"QZ {i:09d}"}],
                identity__phone=f"+7 912 {i % 1000:03d} {i // 1000 % 10000:04d}",
                identity__email=f"z{i}@example.org",
                identity__next_of_kin=[],
            )
            out.write(json.dumps(data, ensure_ascii=False) + "\n")
    return path


def _letters(n: int) -> str:
    word = ""
    for _ in range(4):
        word += "abcdefghiklmnoprstuvz"[n % 21]
        n //= 21
    return word

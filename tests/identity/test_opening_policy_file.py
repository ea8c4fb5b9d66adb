"""``LEGIONARY_OPENING_POLICY_FILE``: an operator sets the opening policy (break-glass, approval time,
allowances, per legion) in a JSON file instead of editing the settings module; a mistake in it stops
the service at start with one sentence naming the file and the place (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legionary.settings_check import ConfigurationError, opening_policy_from_file
from tests.core.instance import legionary_env, run_legionary


def _file(tmp_path: Path, content: Any) -> str:
    path = tmp_path / "policy.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def test_a_policy_file_is_read_into_the_running_settings_with_the_defaults_kept(tmp_path: Path) -> None:
    policy = {"default": {"allowance": {"ci_officer": 40}}, "legions": {"geo": {"break_glass": "alert"}}}
    env = legionary_env(tmp_path / "home", LEGIONARY_OPENING_POLICY_FILE=_file(tmp_path, policy))
    assert run_legionary(env, "init").returncode == 0
    done = run_legionary(
        env,
        "shell",
        "-c",
        "from django.conf import settings; from legionary.identity.openings import policy_for;"
        "import json; p = settings.LEGIONARY_OPENING_POLICY['default'];"
        "print(json.dumps([p['allowance'], p['approval_minutes'], policy_for('geo').break_glass,"
        " policy_for('frl').break_glass, policy_for('geo').allowance['ci_officer']]))",
    )
    assert done.returncode == 0, done.stderr
    allowance, minutes, geo, frl, geo_ci = json.loads(done.stdout.strip().splitlines()[-1])
    # The file's CI allowance, the other roles' defaults kept, the default approval time kept.
    assert allowance == {"investigator": 30, "ci_officer": 40, "unit_commander": 10, "security_officer": 10}
    assert (minutes, geo, frl, geo_ci) == (30, "alert", "approval", 40)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not JSON"),
        ([], 'must be an object with "default"'),
        ({"defaults": {}}, 'must be an object with "default"'),
        ({"default": {"break_glass": "never"}}, '"break_glass" must be "approval" or "alert"'),
        ({"default": {"approval_minutes": 0}}, '"approval_minutes" must be a whole number from 1 to 1440'),
        ({"default": {"allowance": {"spy": 5}}}, "\"allowance\" names 'spy', which is not a role"),
        ({"default": {"allowance": {"investigator": -1}}}, "the allowance of investigator must be a whole number"),
        ({"legions": {"geo": {"allowances": {}}}}, 'legion "geo" has unknown keys'),
        ({"legions": []}, '"legions" must be an object'),
    ],
)
def test_a_mistaken_policy_file_stops_the_service_with_a_sentence(tmp_path: Path, content: Any, says: str) -> None:
    env = legionary_env(tmp_path / "home", LEGIONARY_OPENING_POLICY_FILE=_file(tmp_path, content))
    done = run_legionary(env, "check")
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "LEGIONARY_OPENING_POLICY_FILE" in done.stderr


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        opening_policy_from_file(str(tmp_path / "nowhere.json"))


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=3),
        max_leaves=12,
    )
)
def test_any_json_is_either_a_policy_or_a_configuration_error(value: Any) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(value, f)
    try:
        policy = opening_policy_from_file(f.name)
    except ConfigurationError:
        return
    finally:
        Path(f.name).unlink()
    assert isinstance(policy, dict)

"""Checks made before Django starts, so that configuration mistakes give a sentence, not a traceback."""

from __future__ import annotations

from pathlib import Path


class ConfigurationError(Exception):
    """A setting from the environment is missing or malformed; the message says which."""


_NEEDS_NOTHING = {"help", "--help", "-h", "version", "--version"}


def check_environment(verb: str, *, help_only: bool = False) -> str | None:
    """A sentence about what is wrong before ``verb`` can run, or None. ``help_only``: the command
    was asked for its help, which needs valid settings but no home, key or database."""
    if verb in _NEEDS_NOTHING:
        return None
    try:
        from django.conf import settings

        home = Path(settings.LEGIONARY_HOME)
    except ConfigurationError as exc:
        return str(exc)
    if help_only:
        return None
    from legionary.cli import _ensure_home

    uses_sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    if verb == "init" or uses_sqlite:
        problem = _ensure_home(home)
        if problem:
            return problem
    if verb != "init" and not Path(settings.SECRET_KEY_FILE).exists():
        return f"{home} is not initialised (no secret key at {settings.SECRET_KEY_FILE}). Run `legionary init` first."
    return None


_POLICY_KEYS = {"break_glass", "approval_minutes", "allowance"}


def _policy_part(part: object, where: str) -> dict[str, object]:
    """One policy (the default or a legion's), checked key by key; the sentence names the place."""
    from legionary.access.roles import Role

    if not isinstance(part, dict):
        raise ConfigurationError(f"{where} must be an object.")
    unknown = sorted(set(part) - _POLICY_KEYS)
    if unknown:
        raise ConfigurationError(f"{where} has unknown keys {unknown}; the keys are {sorted(_POLICY_KEYS)}.")
    if "break_glass" in part and part["break_glass"] not in ("approval", "alert"):
        raise ConfigurationError(f'{where}: "break_glass" must be "approval" or "alert".')
    minutes = part.get("approval_minutes", 1)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 24 * 60:
        raise ConfigurationError(f'{where}: "approval_minutes" must be a whole number from 1 to 1440.')
    allowance = part.get("allowance", {})
    if not isinstance(allowance, dict):
        raise ConfigurationError(f'{where}: "allowance" must be an object of role: openings per day.')
    for role, count in allowance.items():
        if role not in Role.values:
            raise ConfigurationError(
                f'{where}: "allowance" names {role!r}, which is not a role ({", ".join(Role.values)}).'
            )
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ConfigurationError(f"{where}: the allowance of {role} must be a whole number, 0 or more.")
    return part


def opening_policy_from_file(path: str) -> dict[str, object]:
    """``LEGIONARY_OPENING_POLICY_FILE``: a JSON object with ``"default"`` and ``"legions"`` (each legion's
    overrides) as docs/security.md describes, read and checked at start-up; a mistake stops the
    service with one sentence naming the file and the place."""
    import json

    name = f"LEGIONARY_OPENING_POLICY_FILE ({path})"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{name} cannot be read: {exc.strerror or exc}.") from None
    try:
        policy = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not JSON: {exc}.") from None
    if not isinstance(policy, dict) or set(policy) - {"default", "legions"}:
        raise ConfigurationError(f'{name} must be an object with "default" and/or "legions".')
    _policy_part(policy.get("default", {}), f'{name}, "default"')
    legions = policy.get("legions", {})
    if not isinstance(legions, dict):
        raise ConfigurationError(f'{name}: "legions" must be an object of legion code: policy.')
    for legion, part in legions.items():
        _policy_part(part, f'{name}, legion "{legion}"')
    return policy

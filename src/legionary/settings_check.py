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

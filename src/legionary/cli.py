"""The ``legionary`` command: Django's management commands, with the contract's error handling.

Errors are one or two sentences on stderr and exit 2 for usage or configuration problems; a
traceback appears only with ``--debug`` (see ../shared/contract/cli.md).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

# Verbs that run before anything is initialised and touch no database.
_NO_SETUP_VERBS = {"help", "--help", "-h", "version", "--version"}


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"legionary: {message}\n")
    return code


def _ensure_home(home: Path) -> str | None:
    """Creates LEGIONARY_HOME (0700) if needed; returns an error sentence if it is not writable."""
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create LEGIONARY_HOME {home} ({exc.strerror}). Set LEGIONARY_HOME to a folder you can write."
    if not home.is_dir() or not os.access(home, os.W_OK | os.X_OK):
        return f"LEGIONARY_HOME {home} is not a writable folder. Set LEGIONARY_HOME to a folder you can write."
    return None


def write_secret_key(path: Path) -> bool:
    """Writes a new random secret key with mode 0600 unless one exists; True if written."""
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(64) + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    args[0] = "legionary"
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
        os.environ["LEGIONARY_CLI_DEBUG"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legionary.settings")
    # Everything legionary writes (database, keys, uploads, logs) is for its owner only.
    os.umask(0o077)
    verb = args[1] if len(args) > 1 else "help"
    try:
        return _run(args, verb)
    except KeyboardInterrupt:
        return _fail("interrupted; whole records stay stored and the command can be run again.", 130)
    except Exception as exc:
        if debug:
            raise
        return _fail(f"unexpected error ({type(exc).__name__}). Run the command again with --debug for details.", 1)


def _run(args: list[str], verb: str) -> int:
    from legionary.settings_check import check_environment

    problem = check_environment(verb)
    if problem:
        return _fail(problem)
    if verb == "init":
        from django.conf import settings

        write_secret_key(Path(settings.SECRET_KEY_FILE))
        # Settings were read before the key existed; read it again.
        settings.SECRET_KEY = Path(settings.SECRET_KEY_FILE).read_text(encoding="ascii").strip()

    import django
    from django.core.management import execute_from_command_line, get_commands

    django.setup()
    if verb not in _NO_SETUP_VERBS and verb not in get_commands():
        return _fail(f"unknown command {verb!r}. Run `legionary help` to see the commands.")
    if verb not in _NO_SETUP_VERBS:
        problem = _database_problem()
        if problem:
            return _fail(problem)
    try:
        execute_from_command_line(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return 0


def _database_problem() -> str | None:
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError:
        where = connection.settings_dict.get("HOST") or connection.settings_dict.get("NAME")
        port = connection.settings_dict.get("PORT") or ""
        return (
            f"the database at {where}{':' + str(port) if port else ''} does not answer. "
            "Check DATABASE_URL and that the server is running."
        )
    return None


if __name__ == "__main__":
    sys.exit(main())

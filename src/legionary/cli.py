"""The ``legionary`` command: Django's management commands, with the contract's error handling.

Errors are one or two sentences on stderr and exit 2 for usage or configuration problems; a
traceback appears only with ``--debug`` (see ../shared/contract/cli.md).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from django.core.management import ManagementUtility
from django.core.management.base import BaseCommand

# Verbs that run before anything is initialised and touch no database.
_NO_SETUP_VERBS = {"help", "--help", "-h", "version", "--version"}

# Django's own verbs that `legionary` keeps; our apps' verbs are all kept. Every other Django verb
# is refused, because it empties or rewrites data behind the audit log's back (flush, sqlflush,
# loaddata, migrate, squashmigrations, createcachetable, remove_stale_contenttypes, clearsessions),
# changes staff accounts or their sign-in without an audit entry (createsuperuser, changepassword,
# addstatictoken, the axes_reset* family: `legionary staff` does these, audited), prints secrets or
# data (diffsettings shows SECRET_KEY; dumpdata, dbshell, inspectdb, sqlmigrate,
# sqlsequencereset, showmigrations, axes_list_attempts), or is for developers and serves nothing
# safely (runserver, testserver, test, startapp, startproject, makemigrations, optimizemigration,
# makemessages, compilemessages, collectstatic, findstatic, sendtestemail). Migrations run through
# `init` (and `restore`); developers reach the rest through `django-admin` with their own settings.
KEPT_DJANGO_VERBS = frozenset({"check", "shell"})
_OUR_APPS_PREFIX = "legionary."


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

    problem = check_environment(verb, help_only=_asks_for_help(args))
    if problem:
        return _fail(problem)
    if verb == "init":
        from django.conf import settings

        write_secret_key(Path(settings.SECRET_KEY_FILE))
        # Settings were read before the key existed; read it again.
        settings.SECRET_KEY = Path(settings.SECRET_KEY_FILE).read_text(encoding="ascii").strip()

    import django

    django.setup()
    verbs = legionary_verbs()
    if verb not in _NO_SETUP_VERBS and verb not in verbs:
        return _fail(_unknown_verb(verb))
    if verb in {"help", "--help", "-h"} and len(args) > 2 and args[2] not in verbs and not args[2].startswith("-"):
        return _fail(_unknown_verb(args[2]))
    if verb not in _NO_SETUP_VERBS and not _asks_for_help(args):
        problem = _database_problem()
        if problem:
            return _fail(problem)
    try:
        _Utility(args, verbs).execute()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return 0


def _unknown_verb(verb: str) -> str:
    from django.core.management import get_commands

    if verb in get_commands():
        return (
            f"`{verb}` is not a legionary command: it is one of Django's own, left out because it bypasses the "
            "audit log or is for developers. Run `legionary help` to see the commands."
        )
    return f"unknown command {verb!r}. Run `legionary help` to see the commands."


def _asks_for_help(args: list[str]) -> bool:
    """`legionary VERB --help` needs neither a database nor keys, so none is checked."""
    return any(a in {"-h", "--help"} for a in args[2:])


def legionary_verbs() -> dict[str, str]:
    """The verbs `legionary` offers: our apps' management commands and the Django verbs kept."""
    from django.core.management import get_commands

    # get_commands() names the package a verb comes from: "legionary.audit", "django.core", ...
    return {
        name: app
        for name, app in get_commands().items()
        if name in KEPT_DJANGO_VERBS or app.startswith(_OUR_APPS_PREFIX)
    }


class _Utility(ManagementUtility):
    """Django's command runner, restricted to `legionary_verbs()` in its help and its dispatch."""

    def __init__(self, argv: list[str], verbs: dict[str, str]) -> None:
        super().__init__(argv)
        self.verbs = verbs

    def main_help_text(self, commands_only: bool = False) -> str:
        if commands_only:
            return "\n".join(sorted(self.verbs))
        lines = ["", f"Type '{self.prog_name} help <subcommand>' for help on a specific subcommand.", ""]
        lines += ["Available subcommands:", "", *(f"    {name}" for name in sorted(self.verbs))]
        return "\n".join(lines)

    def fetch_command(self, subcommand: str) -> BaseCommand:
        if subcommand not in self.verbs:
            sys.stderr.write(f"legionary: {_unknown_verb(subcommand)}\n")
            sys.exit(2)
        return super().fetch_command(subcommand)


def _database_problem() -> str | None:
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        where = connection.settings_dict.get("HOST") or connection.settings_dict.get("NAME")
        port = connection.settings_dict.get("PORT") or ""
        at = f"{where}{':' + str(port) if port else ''}"
        user = connection.settings_dict.get("USER") or ""
        # The server's own words say which: never echoed, since they may quote the URL.
        said = str(exc).lower()
        if "password authentication failed" in said or "no password supplied" in said:
            return (
                f"the database at {at} refused the password of user {user!r}. Check the password in DATABASE_URL "
                "(characters such as / @ : % # must be percent-encoded there)."
            )
        if "does not exist" in said and "database" in said:
            return f"the database server at {at} has no database {connection.settings_dict.get('NAME')!r}. Create it."
        if "does not exist" in said and "role" in said:
            return f"the database server at {at} has no user {user!r}. Create it, or fix DATABASE_URL."
        return f"the database at {at} does not answer. Check DATABASE_URL and that the server is running."
    return None


if __name__ == "__main__":
    sys.exit(main())

"""Settings for ``bench/bench_identity.py``: the test settings plus the Fernet comparison app.

Never loaded by a running instance. ``SALT_KEY`` is what ``django-fernet-encrypted-fields``
mixes with ``SECRET_KEY`` (random per process in ``tests.settings``) to derive its one Fernet key;
it is a fixed, public benchmark value, not a secret. ``LEGIONARY_BENCH_DB_NAME``, set by the
benchmark on PostgreSQL, points Django at a database the benchmark created for itself, so a run
never writes into the database that ``DATABASE_URL`` names.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.fernetapp.apps.FernetAppConfig"]

SALT_KEY = ["legionary-bench-fernet-salt"]

if os.environ.get("LEGIONARY_BENCH_DB_NAME") and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["NAME"] = os.environ["LEGIONARY_BENCH_DB_NAME"]

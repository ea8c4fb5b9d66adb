"""Settings for the test suite: production settings over a throwaway LEGIONARY_HOME.

Only what makes tests fast or isolated differs from production, and nothing here can be loaded by
a production instance (this module is not part of the installed package).
"""

import os
import tempfile

os.environ.setdefault("LEGIONARY_HOME", tempfile.mkdtemp(prefix="legionary-test-home-"))

from legionary.settings import *  # noqa: F403
from legionary.settings import DATABASES

SECRET_KEY = "test-" + os.urandom(32).hex()
# Argon2 is slow by design; tests that are about hashing use it explicitly.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not Django's shared-cache in-memory database: concurrency tests need SQLite's real
    # locking (WAL, busy timeout), and the plaintext scans read the database files.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["LEGIONARY_HOME"], "legionary-test.sqlite3")}

# No background refresh of the reports rollup: a thread outliving a test would write into the
# next one's database. Tests of the refresh turn it on ("inline") for themselves.
LEGIONARY_REPORT_AUTO_REFRESH = "off"

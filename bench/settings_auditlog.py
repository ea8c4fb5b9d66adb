"""Bench-only settings: the test settings plus django-auditlog, for the side-by-side in bench_audit.py.

Never loaded by the project or its tests; django-auditlog is only in the ``bench`` extra.
"""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "auditlog"]  # noqa: F405

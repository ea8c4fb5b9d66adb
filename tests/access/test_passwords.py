import os

from django.conf import settings

import legionary.settings as production


def test_production_hashes_passwords_with_argon2id() -> None:
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_tests_use_a_fast_hasher_only_through_the_test_settings() -> None:
    assert settings.PASSWORD_HASHERS != production.PASSWORD_HASHERS
    # The module pytest configured Django with: settings.SETTINGS_MODULE reads None while a test
    # overrides a setting (every test does: each keeps its audit checkpoint in its own file).
    assert "tests" in os.environ["DJANGO_SETTINGS_MODULE"]

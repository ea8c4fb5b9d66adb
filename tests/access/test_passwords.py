from django.conf import settings

import legionary.settings as production


def test_production_hashes_passwords_with_argon2id() -> None:
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_tests_use_a_fast_hasher_only_through_the_test_settings() -> None:
    assert settings.PASSWORD_HASHERS != production.PASSWORD_HASHERS
    assert "tests" in settings.SETTINGS_MODULE

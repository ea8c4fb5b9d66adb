"""Bench-only Django app: the same identities stored with ``django-fernet-encrypted-fields``."""

"""App config of the bench-only comparison app (never installed by the production settings)."""

from __future__ import annotations

from django.apps import AppConfig


class FernetAppConfig(AppConfig):
    name = "bench.fernetapp"
    label = "fernetapp"
    default_auto_field = "django.db.models.BigAutoField"

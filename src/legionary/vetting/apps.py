from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_catalogue(sender: AppConfig, **kwargs: Any) -> None:
    from legionary.vetting.catalogue import catalogue_load

    catalogue_load()


class VettingConfig(AppConfig):
    name = "legionary.vetting"
    label = "vetting"
    verbose_name = "Vetting and adjudication"

    def ready(self) -> None:
        # After every migrate (``legionary init``) and every test-database flush, the shipped check
        # catalogue is there; existing rows are left as the administrator set them.
        post_migrate.connect(_load_catalogue, sender=self, dispatch_uid="legionary.vetting.catalogue")

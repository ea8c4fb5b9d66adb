from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "legionary.access"
    label = "access"
    verbose_name = "Staff accounts and access"

    def ready(self) -> None:
        from legionary.access import signals  # noqa: F401 — connects the login audit receivers

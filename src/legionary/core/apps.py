from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Verbs that span every domain: init, serve and demo."""

    name = "legionary.core"
    label = "core"
    verbose_name = "Instance set-up"

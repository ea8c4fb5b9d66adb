from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "legionary.identity"
    label = "identity"
    verbose_name = "Sealed identities"

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "legionary.api"
    label = "api"
    verbose_name = "API"

from django.apps import AppConfig


class VettingConfig(AppConfig):
    name = "legionary.vetting"
    label = "vetting"
    verbose_name = "Vetting and adjudication"

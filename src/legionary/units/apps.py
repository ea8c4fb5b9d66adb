from django.apps import AppConfig


class UnitsConfig(AppConfig):
    name = "legionary.units"
    label = "units"
    verbose_name = "Units and assignments"

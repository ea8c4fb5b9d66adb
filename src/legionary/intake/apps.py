from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "legionary.intake"
    label = "intake"
    verbose_name = "Intake"

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "legionary.reports"
    label = "reports"
    verbose_name = "Reports"

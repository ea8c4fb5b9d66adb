from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "legionary.audit"
    label = "audit"
    verbose_name = "Audit log"

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "legionary.training"
    label = "training"
    verbose_name = "Training"

from django.apps import AppConfig


class ConditionsConfig(AppConfig):
    name = "conditions"
    verbose_name = "ICD-10-CM conditions"
    default_auto_field = "django.db.models.BigAutoField"

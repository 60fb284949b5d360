from django.apps import AppConfig


class TssConfig(AppConfig):
    name = "tss"
    default_auto_field = "django.db.models.BigAutoField"

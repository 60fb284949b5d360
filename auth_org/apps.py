from django.apps import AppConfig


class AuthOrgConfig(AppConfig):
    name = "auth_org"
    default_auto_field = "django.db.models.BigAutoField"

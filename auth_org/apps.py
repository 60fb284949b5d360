from django.apps import AppConfig


class AuthOrgConfig(AppConfig):
    name = "auth_org"
    verbose_name = "Organizations and users"
    default_auto_field = "django.db.models.BigAutoField"

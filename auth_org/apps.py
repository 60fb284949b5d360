from django.apps import AppConfig


class AuthOrgConfig(AppConfig):
    name = "auth_org"
    verbose_name = "Organizations and users"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auth_org import webhooks

        webhooks.connect()

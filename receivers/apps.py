from django.apps import AppConfig


class ReceiversConfig(AppConfig):
    name = "receivers"
    verbose_name = "Receivers and wallets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from receivers import listeners

        listeners.connect()

from django.apps import AppConfig


class DisbursementsConfig(AppConfig):
    name = "disbursements"
    verbose_name = "Disbursements and payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from disbursements import listeners

        listeners.connect()

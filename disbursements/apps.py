from django.apps import AppConfig


class DisbursementsConfig(AppConfig):
    name = "disbursements"
    verbose_name = "Disbursements and payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from disbursements import listeners

        listeners.connect()

        # receivers shows payment figures without importing this layer above it.
        from disbursements.selectors import PaymentReader
        from receivers import selectors as receiver_selectors

        receiver_selectors.PAYMENT_READS = PaymentReader()

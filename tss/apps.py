from django.apps import AppConfig


class TssConfig(AppConfig):
    name = "tss"
    verbose_name = "Submission"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from tss import contract, signals
        from tss.metrics import DatabaseCollector

        signals.transactions_finished.connect(
            contract.count_finished, dispatch_uid="tss.contract.count_finished"
        )

        # ready() can run twice in some test set-ups; register once.
        if not getattr(REGISTRY, "_tss_db_collector", False):
            REGISTRY.register(DatabaseCollector())
            REGISTRY._tss_db_collector = True

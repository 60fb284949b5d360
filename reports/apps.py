from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Statements and reconciliation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from reports.metrics import DifferencesCollector

        # ready() can run twice in some test set-ups; register once.
        if not getattr(REGISTRY, "_reports_collector", False):
            REGISTRY.register(DifferencesCollector())
            REGISTRY._reports_collector = True

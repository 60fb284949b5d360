from django.apps import AppConfig


class SdpConfig(AppConfig):
    """The project package as an app, for project-wide management commands."""

    name = "sdp"
    verbose_name = "Stellar Disbursement Platform"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        import sdp.lookups  # noqa: F401  (registers field__any)
        from sdp.operations import OperationsCollector

        # ready() can run twice (tests, autoreload); register the collector once.
        if not any(
            isinstance(c, OperationsCollector)
            for c in list(REGISTRY._collector_to_names)
        ):
            REGISTRY.register(OperationsCollector())

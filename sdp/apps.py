from django.apps import AppConfig


class SdpConfig(AppConfig):
    """The project package as an app, for project-wide management commands."""

    name = "sdp"
    verbose_name = "Stellar Disbursement Platform"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from auth_org.admin_audit import audit_admin_sites
        from sdp.operations import OperationsCollector

        # ready() can run twice (tests, autoreload); register the collector once.
        if not any(
            isinstance(c, OperationsCollector)
            for c in list(REGISTRY._collector_to_names)
        ):
            REGISTRY.register(OperationsCollector())
        # Last in INSTALLED_APPS: every admin module is registered by now.
        audit_admin_sites()

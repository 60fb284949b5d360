from django.apps import AppConfig


class LocalnetConfig(AppConfig):
    """No models: the app exists for its `localnet` management command."""

    name = "localnet"
    verbose_name = "Local Stellar network (development only)"

from django.apps import AppConfig


class SdpConfig(AppConfig):
    """The project package as an app, for project-wide management commands."""

    name = "sdp"
    verbose_name = "Stellar Disbursement Platform"

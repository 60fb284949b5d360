from django.apps import AppConfig


class LocalnetConfig(AppConfig):
    name = "localnet"

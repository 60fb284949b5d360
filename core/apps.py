from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom library as an app: its one table (idempotency keys) and the
    ``__any`` lookup. It imports no app of the project."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        import core.lookups  # noqa: F401  (registers field__any)

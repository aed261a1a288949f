from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Chat and webhooks out"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 -- connects the signal receivers

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents and drills"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal receivers)

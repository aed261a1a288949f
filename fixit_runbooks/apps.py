from django.apps import AppConfig


class FixitRunbooksConfig(AppConfig):
    name = "fixit_runbooks"
    verbose_name = "FixIt Runbooks site"

    def ready(self) -> None:
        from . import login_audit  # noqa: F401 - connects the login signal receivers

from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from runbooks import signals

        from . import index

        signals.runbook_changed.connect(index.on_runbook_changed, dispatch_uid="search.reindex_one")
        signals.runbooks_bulk_changed.connect(
            index.on_runbooks_bulk_changed, dispatch_uid="search.reindex_bulk"
        )
        post_migrate.connect(index.fill_if_empty, sender=self, dispatch_uid="search.fill_if_empty")

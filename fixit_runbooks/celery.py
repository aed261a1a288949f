import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixit_runbooks.settings")

app = Celery("fixit_runbooks")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The importer's task lives in its package, not in an app's tasks module.
app.autodiscover_tasks(["runbooks.importing"])

from django.urls import path

from . import views

app_name = "alerting"

urlpatterns = [
    path("hooks/alertmanager/", views.alertmanager_hook, name="alertmanager"),
    path("hooks/grafana/", views.grafana_hook, name="grafana"),
]

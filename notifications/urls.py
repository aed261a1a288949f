from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.channel_list, name="list"),
    path("new/", views.channel_create, name="create"),
    path("<int:pk>/", views.channel_detail, name="detail"),
    path("<int:pk>/edit/", views.channel_edit, name="edit"),
    path("<int:pk>/<slug:action>/", views.channel_action, name="action"),
    path(
        "incidents/<slug:number>/status-updates/<slug:key>/",
        views.send_status_update,
        name="send_update",
    ),
    path("watch/runbook/<slug:slug>/", views.watch_runbook, name="watch_runbook"),
    path("watch/service/<int:pk>/", views.watch_service, name="watch_service"),
]

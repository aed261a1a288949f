from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_create, name="create"),
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:pk>/status/", views.action_status, name="action_status"),
    path("runbook-suggestions/", views.runbook_suggestions, name="runbook_suggestions"),
    path("start/<slug:slug>/", views.start_with_runbook, name="start_with_runbook"),
    path("<slug:number>/", views.incident_detail, name="detail"),
    path("<slug:number>/edit/", views.incident_edit, name="edit"),
    path("<slug:number>/timeline/", views.timeline, name="timeline"),
    path("<slug:number>/timeline/add/", views.timeline_add, name="timeline_add"),
    path("<slug:number>/status/", views.change_status, name="status"),
    path("<slug:number>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<slug:number>/runbooks/", views.attach_runbook, name="attach"),
    path("<slug:number>/runbooks/<slug:slug>/", views.checklist, name="checklist"),
    path("<slug:number>/runbooks/<slug:slug>/steps/", views.step, name="step"),
    path("<slug:number>/review/", views.review, name="review"),
    path("<slug:number>/actions/", views.action_add, name="action_add"),
]

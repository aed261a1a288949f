from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_create, name="create"),
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:pk>/status/", views.action_status, name="action_status"),
    path("<str:number>/", views.incident_detail, name="detail"),
    path("<str:number>/edit/", views.incident_edit, name="edit"),
    path("<str:number>/timeline/", views.timeline, name="timeline"),
    path("<str:number>/timeline/add/", views.timeline_add, name="timeline_add"),
    path("<str:number>/status/", views.change_status, name="status"),
    path("<str:number>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<str:number>/runbooks/", views.attach_runbook, name="attach"),
    path("<str:number>/runbooks/<slug:slug>/", views.checklist, name="checklist"),
    path("<str:number>/runbooks/<slug:slug>/steps/", views.step, name="step"),
    path("<str:number>/review/", views.review, name="review"),
    path("<str:number>/actions/", views.action_add, name="action_add"),
]

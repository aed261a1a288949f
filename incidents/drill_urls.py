from django.urls import path

from . import views

app_name = "drills"

urlpatterns = [
    path("", views.drill_list, name="list"),
    path("new/", views.drill_create, name="create"),
    # A runbook followed as a checklist outside any incident (maintenance, a drill).
    path("follow/<slug:slug>/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/steps/", views.run_step, name="run_step"),
    path("runs/<int:pk>/finish/", views.run_finish, name="run_finish"),
    path("<slug:number>/", views.drill_detail, name="detail"),
]

from django.urls import path

from . import views

app_name = "drills"

urlpatterns = [
    path("", views.drill_list, name="list"),
    path("new/", views.drill_create, name="create"),
    path("<slug:number>/", views.drill_detail, name="detail"),
]

from django.urls import path

from . import views

app_name = "emergency"

urlpatterns = [
    path("<slug:slug>/", views.break_glass, name="invoke"),
]

from django.urls import path

from . import views

app_name = "contacts"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:kind>/<int:pk>/", views.detail, name="detail"),
    path("<slug:kind>/<int:pk>/edit/", views.edit, name="edit"),
]

from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("runbooks/<slug:slug>/review/", views.review, name="review"),
    path("runbooks/<slug:slug>/review/sign-off/", views.sign_off, name="sign_off"),
    path("runbooks/<slug:slug>/review/request/", views.request_review, name="request_review"),
    path("reviews/", views.dashboard, name="dashboard"),
    path("reviews/reminders/", views.my_reminders, name="my_reminders"),
    path("reviews/preferences/", views.preferences, name="preferences"),
]

from django.urls import path

from . import views

app_name = "changes"

urlpatterns = [
    path("", views.proposal_list, name="list"),
    path("<int:pk>/", views.proposal_detail, name="detail"),
    path("<int:pk>/comment/", views.comment, name="comment"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/request-changes/", views.request_changes, name="request_changes"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/revise/", views.revise, name="revise"),
    path("drafts/save/", views.draft_save, name="draft_save"),
    path("drafts/discard/", views.draft_discard, name="draft_discard"),
]

from django.urls import path

from . import docs_views, review_views, views

app_name = "runbooks"

urlpatterns = [
    path("", views.index, name="index"),
    path("runbooks/new/", views.create, name="create"),
    path("runbooks/preview/", views.preview, name="preview"),
    path("runbooks/import/", docs_views.import_upload, name="import"),
    path("runbooks/import/<int:job_id>/", docs_views.import_job, name="import_job"),
    path("runbooks/import/<int:job_id>/resolve/", docs_views.resolve_conflicts, name="import_resolve"),
    path("runbooks/export.zip", docs_views.export_zip, name="export_zip"),
    path("runbooks/<slug:slug>/", views.detail, name="detail"),
    path("runbooks/<slug:slug>/edit/", views.edit, name="edit"),
    path("runbooks/<slug:slug>/history/", views.history, name="history"),
    path("runbooks/<slug:slug>/diff/", views.diff, name="diff"),
    path("runbooks/<slug:slug>/revisions/<int:number>/", views.revision, name="revision"),
    path("runbooks/<slug:slug>/revisions/<int:number>/restore/", views.restore, name="restore"),
    path("audit/", views.audit_log, name="audit"),
    path("runbooks/<slug:slug>/review/", review_views.review, name="review"),
    path("runbooks/<slug:slug>/review/sign-off/", review_views.sign_off, name="review_sign_off"),
    path("runbooks/<slug:slug>/review/request/", review_views.request_review, name="request_review"),
    path("reviews/", review_views.dashboard, name="reviews"),
    path("reviews/reminders/", review_views.my_reminders, name="my_reminders"),
    path("reviews/preferences/", review_views.preferences, name="reminder_preferences"),
]

from django.urls import path

from . import archive_views, docs_views, views

app_name = "runbooks"

urlpatterns = [
    path("", views.index, name="index"),
    path("runbooks/new/", views.create, name="create"),
    path("runbooks/preview/", views.preview, name="preview"),
    path("runbooks/import/", docs_views.import_upload, name="import"),
    path("runbooks/import/<int:job_id>/", docs_views.import_job, name="import_job"),
    path("runbooks/import/<int:job_id>/resolve/", docs_views.resolve_conflicts, name="import_resolve"),
    path("runbooks/export.zip", docs_views.export_zip, name="export_zip"),
    path("runbooks/archived/", archive_views.archived_list, name="archived"),
    path("runbooks/<slug:slug>/", views.detail, name="detail"),
    path("runbooks/<slug:slug>/archive/", archive_views.archive, name="archive"),
    path("runbooks/<slug:slug>/unarchive/", archive_views.unarchive, name="unarchive"),
    path("runbooks/<slug:slug>/delete/", archive_views.delete, name="delete"),
    path("runbooks/<slug:slug>/edit/", views.edit, name="edit"),
    path("runbooks/<slug:slug>/history/", views.history, name="history"),
    path("runbooks/<slug:slug>/diff/", views.diff, name="diff"),
    path("runbooks/<slug:slug>/revisions/<int:number>/", views.revision, name="revision"),
    path("runbooks/<slug:slug>/revisions/<int:number>/restore/", views.restore, name="restore"),
    path("audit/", views.audit_log, name="audit"),
]

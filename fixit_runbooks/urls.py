from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # First: the runbook page is the most requested URL, and no other app's path overlaps these.
    path("", include("runbooks.urls")),
    path("api/v1/", include("api.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("incidents/", include("incidents.urls")),
    path("drills/", include("incidents.drill_urls")),
    path("", include("alerting.urls")),
    path("notifications/", include("notifications.urls")),
    path("contacts/", include("contacts.urls")),
    path("proposals/", include("changes.urls")),
    path("break-glass/", include("changes.emergency_urls")),
    path("", include("search.urls")),
    path("", include("reviews.urls")),
]
if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "fixit_runbooks.errors.bad_request"
handler403 = "fixit_runbooks.errors.permission_denied"
handler404 = "fixit_runbooks.errors.page_not_found"
handler500 = "fixit_runbooks.errors.server_error"

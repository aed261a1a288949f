from .api import api

urlpatterns, _app_name, namespace = api.urls
app_name = namespace
# Tokens, not the login page, guard the API; its schema and docs are public.
for pattern in urlpatterns:
    pattern.callback.login_required = False  # type: ignore[union-attr]

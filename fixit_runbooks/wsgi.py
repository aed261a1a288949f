import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixit_runbooks.settings")
application = get_wsgi_application()

# Only the web server needs collectstatic's manifest; management commands
# (collectstatic itself among them) start without it.
from .startup import require_static_manifest  # noqa: E402

require_static_manifest()

"""gunicorn settings for the 2-core default (see the README's tuning notes).

gthread workers: a request waiting on the database or Redis holds a thread,
not a whole process, so 2 processes x 8 threads keep both cores busy under 50
concurrent clients where 2 sync workers queued everything. Each knob is an
environment variable for bigger machines.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
# Recycle workers now and then so a slow leak in any library cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
# An empty WEB_ACCESS_LOG turns the access log off.
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
# gunicorn's control socket lives at one path per user home: several servers on one host
# (nodes, benches) would take it from each other, and nothing here uses it.
control_socket_disable = True

"""Production settings plus a bare view, so benchmarks compare pages under the same stack."""

from fixit_runbooks.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

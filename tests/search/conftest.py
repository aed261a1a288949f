from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from runbooks.models import Runbook
from search.models import ApiToken

DISK_BODY = """## Symptoms

- Writes fail with `No space left on device`.
- The root filesystem is above 95 percent.

## Diagnosis

1. Run `df -h` and `du -sh /var/log/*` to find what grew.

## Resolution

1. Rotate and compress the application logs.
2. Expand the volume if the growth is real.
"""

CERT_BODY = """## Symptoms

- Clients report TLS handshake failures.

## Resolution

1. Renew the certificate through the issuer and reload the ingress.
"""


@pytest.fixture
def library(make_runbook: Callable[..., Runbook]) -> dict[str, Runbook]:
    """A small library whose runbooks differ in title, alerts, summary and body words."""
    return {
        "latency": make_runbook(
            title="Checkout latency",
            summary="Checkout pages are slow and time out.",
            alert_names=["CheckoutHighLatency"],
            services=["checkout-api"],
            tags=["performance"],
            severity="P1",
            last_reviewed_at=timezone.now(),
        ),
        "disk": make_runbook(
            title="Node disk almost full",
            summary="A node is running out of disk space.",
            body=DISK_BODY,
            alert_names=["NodeFilesystemAlmostOutOfSpace"],
            services=["node-exporter"],
            category="maintenance",
            severity="P2",
            last_reviewed_at=timezone.now(),
        ),
        "cert": make_runbook(
            title="Certificate expiring soon",
            summary="A TLS certificate expires within a week.",
            body=CERT_BODY,
            alert_names=["CertificateExpiringSoon"],
            category="security",
            severity="P0",
            kind="procedure",
            last_reviewed_at=timezone.now(),
        ),
    }


@pytest.fixture
def api_token(viewer: Any) -> str:
    return ApiToken.issue(viewer, "chat-ops bot")[1]


@pytest.fixture
def token_client() -> Client:
    return Client()

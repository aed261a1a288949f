"""Notification bodies shaped like the examples in Alertmanager's and Grafana's documentation.

Alertmanager: the `webhook_config` payload (version 4) from prometheus.io's
configuration reference; Grafana: the example body of its webhook notifier page.
"""

import copy
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from runbooks.models import Runbook
from search.models import ApiToken, TokenScope

CRASHLOOP_BODY = """## Symptoms

Pods restart again and again.

## Diagnosis

1. Look at the pod:

   ```bash
   kubectl -n {{namespace}} describe pod {{ pod }}
   ```

2. Read its last logs: `kubectl -n {{namespace}} logs {{pod}} --previous -c {{container}}`

## Resolution

1. Roll back the deployment.
"""


def alertmanager_alert(
    *,
    status: str = "firing",
    pod: str = "api-7d9",
    fingerprint: str = "1a30ba71cca2921f",
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": "KubePodCrashLooping",
            "namespace": "shop",
            "pod": pod,
            "severity": "critical",
            **labels,
        },
        "annotations": {
            "description": f"Pod shop/{pod} is restarting 2.5 times / 10 minutes.",
            "summary": "Pod is crash looping.",
        },
        "startsAt": "2018-08-03T09:52:26.739266876+02:00",
        "endsAt": "0001-01-01T00:00:00Z"
        if status == "firing"
        else "2018-08-03T10:22:26.739266876+02:00",
        "generatorURL": "http://example.com:9090/graph?g0.expr=kube_pod_container_status_restarts_total&g0.tab=1",
        "fingerprint": fingerprint,
    }


def alertmanager_body(
    *alerts: dict[str, Any],
    group_key: str = '{}/{severity="critical"}:{alertname="KubePodCrashLooping"}',
) -> dict[str, Any]:
    alerts = alerts or (alertmanager_alert(),)
    firing = any(a["status"] == "firing" for a in alerts)
    common = {
        k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)
    }
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "fixit",
        "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": common,
        "commonAnnotations": {"summary": "Pod is crash looping."},
        "externalURL": "http://example.com:9093",
        "alerts": list(alerts),
    }


GRAFANA_BODY: dict[str, Any] = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
        {
            "status": "firing",
            "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
            "annotations": {
                "description": "The system has high CPU usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone eu-1",
            },
            "startsAt": "2021-10-12T09:56:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
            "fingerprint": "bc97ff14869b13e3",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2\n - team = blue\n - zone = us-1\n",
}


@pytest.fixture
def grafana_body() -> dict[str, Any]:
    return copy.deepcopy(GRAFANA_BODY)


@pytest.fixture
def token(editor: Any) -> str:
    return ApiToken.issue(editor, "alertmanager", TokenScope.WRITE)[1]


@pytest.fixture
def viewer_token(viewer: Any) -> str:
    return ApiToken.issue(viewer, "read only")[1]


@pytest.fixture
def crashloop_runbook(make_runbook: Callable[..., Runbook]) -> Runbook:
    return make_runbook(
        title="Pod crash looping",
        body=CRASHLOOP_BODY,
        alert_names=["KubePodCrashLooping"],
        services=["shop-api"],
    )


def post_json(url: str, body: Any, token: str | None) -> tuple[int, dict[str, Any]]:
    """A real HTTP POST, as Alertmanager makes it."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 -- loopback test server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")

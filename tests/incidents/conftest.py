import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from incidents.models import Incident


@pytest.fixture
def make_incident(db: Any, editor: Any) -> Callable[..., Incident]:
    def make(**fields: Any) -> Incident:
        fields.setdefault("title", "Checkout is slow")
        fields.setdefault("severity", "P1")
        by = fields.pop("by", editor)
        return Incident.open_incident(by=by, **fields)

    return make


@pytest.fixture
def incident(make_incident: Callable[..., Incident]) -> Incident:
    return make_incident()


@pytest.fixture
def attached(incident: Incident, runbook: Any, editor: Any) -> Any:
    return incident.attach_runbook(runbook, by=editor)


@pytest.fixture
def resolved(incident: Incident, attached: Any, editor: Any) -> Incident:
    incident.resolve(editor)
    return incident


def review_findings() -> dict[str, str]:
    return {
        "timeline_summary": "Deploy at 10:00, alert at 10:05, rollback at 10:20.",
        "user_impact": "Slow checkout for 20 minutes.",
        "business_impact": "About 40 lost orders.",
        "root_cause": "An N+1 query in the cart service.",
        "resolution": "Rolled back.",
        "prevention": "Query-count tests on the cart page.",
        "lessons_learned": "Canary deploys would have caught it.",
    }


def tomorrow() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)

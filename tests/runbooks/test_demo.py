"""The demo library is consistent: sign-offs after the versions they sign, references that exist."""

import pytest

from incidents.models import Drill, Incident
from runbooks import demo
from runbooks.models import HistoryEntry, HistoryTrigger

pytestmark = pytest.mark.django_db


def test_every_demo_sign_off_comes_after_the_versions_it_signs():
    demo.seed(8, with_usage=True)
    for review in HistoryEntry.objects.filter(trigger=HistoryTrigger.REVIEW):
        changes = HistoryEntry.objects.filter(runbook=review.runbook, trigger=HistoryTrigger.CHANGE)
        assert all(change.date < review.date for change in changes)


def test_every_incident_and_drill_the_demo_history_names_exists():
    demo.seed(8, with_usage=True)
    references = set(HistoryEntry.objects.exclude(reference="").values_list("reference", flat=True))
    known = set(Incident.objects.values_list("number", flat=True)) | set(
        Drill.objects.values_list("number", flat=True)
    )
    assert references and references <= known

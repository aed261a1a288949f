"""Vocabulary, typos, freshness, archiving and incident learning in search results."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from incidents.models import Incident
from runbooks.models import Runbook
from search.engine import EXACT_NAME_BONUS, name_bonus, search
from search.learning import MAX_BOOST, boosts, record_use
from search.models import SearchUse

pytestmark = pytest.mark.django_db


def titles(result):
    return [hit.runbook.title for hit in result.hits]


@pytest.fixture
def open_incident(editor: Any) -> Callable[..., Incident]:
    def make(title: str = "Checkout is down") -> Incident:
        return Incident.open_incident(by=editor, title=title)

    return make


def test_symptom_words_meet_the_runbook_words_through_the_vocabulary(make_runbook):
    make_runbook(
        title="Pods in CrashLoopBackOff", body="## Meaning\n\nThe container exits at start.\n"
    )
    assert titles(search("pod restarting"))[0] == "Pods in CrashLoopBackOff"


def test_oomkilled_finds_out_of_memory_runbooks(make_runbook):
    make_runbook(
        title="Workers run out of memory", body="## Meaning\n\nThe kernel kills the worker.\n"
    )
    assert titles(search("OOMKilled")) == ["Workers run out of memory"]


def test_camel_case_word_in_a_body_is_found_by_its_words(make_runbook):
    make_runbook(title="Node conditions", body="## Meaning\n\nThe node reports DiskPressure.\n")
    assert titles(search("disk pressure")) == ["Node conditions"]
    assert titles(search("diskpressure")) == ["Node conditions"]


def test_snake_case_alert_name_finds_its_runbook_first(make_runbook):
    make_runbook(title="Autoscaler at its limit", alert_names=["KubeHpaMaxedOut"])
    make_runbook(title="Kube hpa notes", body="## Meaning\n\nAbout kube hpa maxed out.\n")
    assert titles(search("kube_hpa_maxed_out"))[0] == "Autoscaler at its limit"


@pytest.mark.parametrize(("typo", "word"), [("etdc", "etcd"), ("kubelt", "kubelet")])
def test_short_typos_are_corrected(make_runbook, typo, word):
    make_runbook(title="etcd has no leader", alert_names=["etcdNoLeader"])
    make_runbook(title="kubelet is down", alert_names=["KubeletDown"])
    result = search(typo)
    assert result.corrected
    assert result.suggestion == word
    assert result.hits


def test_a_query_matching_nothing_suggests_the_closest_word(make_runbook):
    make_runbook(title="Certificate expiring soon")
    result = search("certifcate")
    assert result.suggestion == "certificate"


def test_words_of_the_vocabulary_are_never_corrected(make_runbook):
    make_runbook(title="Early warning")
    assert search("nearly").suggestion == ""


def test_lead_words_outrank_the_same_words_deep_in_the_body(make_runbook):
    deep = make_runbook(
        title="Storage notes", body="## Notes\n\nx\n\n## Later\n\nThe quorum was lost once.\n"
    )
    lead = make_runbook(title="Monitors", body="## Meaning\n\nThe quorum is lost.\n")
    assert [h.runbook.pk for h in search("quorum lost").hits] == [lead.pk, deep.pk]


def test_archived_runbooks_never_appear(make_runbook):
    gone = make_runbook(title="Legacy quokka procedure")
    Runbook.objects.filter(pk=gone.pk).update(archived_at=timezone.now())
    assert search("quokka").hits == []


def test_archived_runbook_is_dropped_from_the_index_when_reindexed(make_runbook):
    from search.index import reindex

    gone = make_runbook(title="Legacy quokka procedure")
    Runbook.objects.filter(pk=gone.pk).update(archived_at=timezone.now())
    reindex([gone.pk])
    assert search("quokka").total == 0


def test_recently_drilled_current_runbook_outranks_an_overdue_twin(make_runbook):
    overdue = make_runbook(title="Disk full", body="## Meaning\n\nDisk full.\n")
    drilled = make_runbook(title="Disk full", body="## Meaning\n\nDisk full.\n")
    now = timezone.now()
    Runbook.objects.filter(pk=overdue.pk).update(next_review_due=now - dt.timedelta(days=3))
    Runbook.objects.filter(pk=drilled.pk).update(last_drilled_at=now - dt.timedelta(days=2))
    hits = search("disk full").hits
    assert [h.runbook.pk for h in hits] == [drilled.pk, overdue.pk]
    assert hits[0].score > hits[1].score


def test_attaching_after_a_search_boosts_the_runbook_for_similar_queries(
    make_runbook, open_incident
):
    first = make_runbook(title="Gateway timeouts", body="## Meaning\n\nThe gateway times out.\n")
    second = make_runbook(title="Gateway timeouts", body="## Meaning\n\nThe gateway times out.\n")
    assert search("gateway timeouts").hits[0].runbook.pk == first.pk
    record_use("gateway timeouts", second, open_incident())
    hits = search("gateway timeout").hits
    assert hits[0].runbook.pk == second.pk
    assert hits[0].used_in == 1


def test_the_boost_is_bounded(make_runbook, open_incident):
    runbook = make_runbook(title="Gateway timeouts")
    for _ in range(20):
        record_use("gateway timeouts", runbook, open_incident())
    assert boosts(["gateway", "timeouts"], [runbook.pk])[runbook.pk].factor == pytest.approx(
        1 + MAX_BOOST
    )


def test_the_boost_fades_with_age(make_runbook, open_incident):
    runbook = make_runbook(title="Gateway timeouts")
    record_use("gateway timeouts", runbook, open_incident())
    fresh = boosts(["gateway", "timeouts"], [runbook.pk])[runbook.pk].factor
    with time_machine.travel(timezone.now() + dt.timedelta(days=180)):
        faded = boosts(["gateway", "timeouts"], [runbook.pk])[runbook.pk].factor
    assert 1.0 < faded < fresh


def test_unrelated_queries_get_no_boost(make_runbook, open_incident):
    runbook = make_runbook(title="Gateway timeouts")
    record_use("gateway timeouts", runbook, open_incident())
    assert boosts(["disk", "full"], [runbook.pk]) == {}


def test_the_same_query_is_recorded_once_per_incident(make_runbook, open_incident):
    runbook = make_runbook(title="Gateway timeouts")
    incident = open_incident()
    record_use("gateway timeouts", runbook, incident)
    record_use("timeouts gateway", runbook, incident)
    assert SearchUse.objects.count() == 1


def test_attach_form_records_the_search_words(editor_client, make_runbook, open_incident):
    runbook = make_runbook(title="Gateway timeouts")
    incident = open_incident()
    response = editor_client.post(
        f"/incidents/{incident.number}/runbooks/",
        {"runbook": runbook.slug, "q": "gateway timeouts"},
    )
    assert response.status_code == 302
    use = SearchUse.objects.get()
    assert (use.runbook, use.incident, use.query) == (runbook, incident, "gateway timeouts")


def test_attach_without_search_words_records_nothing(editor_client, make_runbook, open_incident):
    runbook = make_runbook(title="Gateway timeouts")
    incident = open_incident()
    editor_client.post(f"/incidents/{incident.number}/runbooks/", {"runbook": runbook.slug})
    assert not SearchUse.objects.exists()


def test_search_from_an_incident_offers_attach_buttons_carrying_the_query(
    editor_client, make_runbook, open_incident
):
    make_runbook(title="Gateway timeouts")
    incident = open_incident()
    page = editor_client.get(
        "/search/", {"q": "gateway", "incident": incident.number}
    ).content.decode()
    assert f"Attach to {incident.number}" in page
    assert 'name="q" value="gateway"' in page


def test_viewer_gets_no_attach_buttons(viewer_client, make_runbook, open_incident):
    make_runbook(title="Gateway timeouts")
    incident = open_incident()
    page = viewer_client.get(
        "/search/", {"q": "gateway", "incident": incident.number}
    ).content.decode()
    assert "Attach to" not in page


def test_most_of_an_alert_name_typed_earns_its_share_of_the_name_bonus():
    assert name_bonus("corednserrors", ["corednserrorshigh"]) == pytest.approx(
        EXACT_NAME_BONUS * 13 / 17
    )


def test_a_word_that_only_starts_a_long_name_earns_no_name_bonus():
    assert name_bonus("prometheus", ["prometheusnotingestingsamples"]) == 0.0


def test_an_alert_name_typed_whole_earns_the_full_name_bonus():
    assert name_bonus("kubehpamaxedout", ["kubehpamaxedout"]) == EXACT_NAME_BONUS

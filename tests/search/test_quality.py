"""Search quality on real third-party runbooks (../shared/corpus), on both engines."""

from pathlib import Path

import pytest
from django.db import transaction

from runbooks.models import Runbook
from search.quality import (
    EARLIER_QUERIES,
    FRESH_HELD_OUT_QUERIES,
    FRESH_TUNING_QUERIES,
    HELD_OUT_QUERIES,
    TUNING_QUERIES,
    evaluate,
    load_corpus,
    search_ranked,
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
# DESIGN.md's targets, held on the fresh held-out half (written before the
# tuning it measures; 1.000 / 0.967 on both engines, see README, Search quality).
TARGET_HIT_RATE = 0.95
TARGET_MRR = 0.90


@pytest.fixture(scope="module")
def corpus_library(django_db_setup, django_db_blocker):
    """The corpus imported once for the module, rolled back afterwards."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield load_corpus(CORPUS)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_old_query_set_has_at_least_sixty_queries_split_in_halves():
    assert len(TUNING_QUERIES) + len(HELD_OUT_QUERIES) >= 60
    assert not {q for q, _ in TUNING_QUERIES} & {q for q, _ in HELD_OUT_QUERIES}
    assert len(EARLIER_QUERIES) == 34


def test_fresh_query_set_has_at_least_eighty_queries_split_in_halves():
    assert len(FRESH_TUNING_QUERIES) + len(FRESH_HELD_OUT_QUERIES) >= 80
    assert abs(len(FRESH_TUNING_QUERIES) - len(FRESH_HELD_OUT_QUERIES)) <= 1
    assert not {q for q, _ in FRESH_TUNING_QUERIES} & {q for q, _ in FRESH_HELD_OUT_QUERIES}


def test_fresh_queries_are_new():
    fresh = {q for q, _ in FRESH_TUNING_QUERIES + FRESH_HELD_OUT_QUERIES}
    older = {q for q, _ in EARLIER_QUERIES + TUNING_QUERIES + HELD_OUT_QUERIES}
    assert not fresh & older


@pytest.mark.django_db
def test_every_corpus_runbook_is_kept_on_import(corpus_library):
    assert corpus_library == 380


@pytest.mark.django_db
def test_fresh_held_out_queries_find_the_right_runbook_in_the_top_three(corpus_library):
    report = evaluate(search_ranked, FRESH_HELD_OUT_QUERIES)
    print(
        f"\nfresh held-out search quality on {corpus_library} corpus runbooks: {report.summary()}"
    )
    # Only the count: the held-out misses are not printed, so they cannot steer tuning.
    assert report.hit_rate >= TARGET_HIT_RATE, f"{len(report.misses)} held-out misses"


@pytest.mark.django_db
def test_fresh_held_out_queries_rank_the_right_runbook_first_almost_always(corpus_library):
    report = evaluate(search_ranked, FRESH_HELD_OUT_QUERIES)
    assert report.mrr >= TARGET_MRR, f"MRR {report.mrr:.3f}"


@pytest.mark.django_db
def test_tuning_material_keeps_its_level(corpus_library):
    assert evaluate(search_ranked, FRESH_TUNING_QUERIES).hit_rate >= 0.97
    assert evaluate(search_ranked, TUNING_QUERIES).hit_rate >= 0.97
    assert evaluate(search_ranked, EARLIER_QUERIES).hit_rate >= 0.97


@pytest.mark.django_db
def test_old_held_out_queries_keep_their_level(corpus_library):
    report = evaluate(search_ranked, HELD_OUT_QUERIES)
    assert report.hit_rate >= 0.91 and report.mrr >= 0.89, report.misses


@pytest.mark.django_db
def test_every_corpus_alert_name_opens_its_runbook(corpus_library, viewer_client):
    for name in (
        "KubeHpaMaxedOut",
        "CephOSDDown",
        "VirtControllerDown",
        "NodeNetworkInterfaceFlapping",
    ):
        response = viewer_client.get(f"/alerts/{name}/")
        assert response.status_code == 302, name
    # Both collections have a runbook for these: each is kept, and the lookup offers both.
    for name in ("etcdNoLeader", "TargetDown"):
        response = viewer_client.get(f"/alerts/{name}/")
        assert response.status_code == 200, name
        choices = Runbook.objects.active().with_alert(name)
        assert choices.count() == 2, name
        for runbook in choices:
            assert runbook.get_absolute_url().encode() in response.content, name


# Reported from the browser on the corpus: the symptom opens the runbook an
# on-call engineer means, first.
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pods crashlooping", "kubepodcrashlooping"),
        ("disk filling up on node", "nodefilesystemspacefillingup"),
    ],
)
def test_browser_reported_symptom_opens_the_meant_runbook_first(corpus_library, query, expected):
    assert expected in search_ranked(query)[0]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["OOMKilled", "diskpressure"])
def test_browser_reported_condition_names_find_runbooks(corpus_library, query):
    assert search_ranked(query)


@pytest.mark.django_db
def test_short_typo_gets_did_you_mean_on_the_corpus(corpus_library):
    from search.engine import search

    assert "etcd" in search("etdc").suggestion

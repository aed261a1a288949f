"""Search quality on real third-party runbooks (../shared/corpus), on both engines."""

from pathlib import Path

import pytest
from django.db import transaction

from search.engine import search
from search.quality import QUERIES, evaluate, load_corpus

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
HIT_RATE_FLOOR = 0.9
MRR_FLOOR = 0.8


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


def test_query_set_is_large_enough():
    assert len(QUERIES) >= 25


@pytest.mark.django_db
def test_expected_runbooks_rank_in_the_top_three(corpus_library):
    assert corpus_library > 300
    report = evaluate(lambda q: [hit.runbook.slug for hit in search(q).hits])
    print(f"\nsearch quality on {corpus_library} corpus runbooks: {report.summary()}")
    for query, top in report.misses:
        print(f"  miss: {query!r} → {top}")
    assert report.hit_rate >= HIT_RATE_FLOOR, report.misses
    assert report.mrr >= MRR_FLOOR


@pytest.mark.django_db
def test_every_corpus_alert_name_opens_its_runbook(corpus_library, viewer_client):
    for name in ("KubePodCrashLooping", "CephOSDDown"):
        response = viewer_client.get(f"/alerts/{name}/")
        assert response.status_code == 302, name
    # Both collections have a runbook for these: each is kept, and the lookup offers both.
    for name in ("etcdNoLeader", "TargetDown"):
        response = viewer_client.get(f"/alerts/{name}/")
        assert response.status_code == 200, name
        assert b"prometheus-operator-runbooks" in response.content, name

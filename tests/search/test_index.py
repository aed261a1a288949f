import pytest
from django.core.management import call_command
from django.db import connection

from runbooks.demo import seed
from runbooks.models import Runbook
from search.engine import search
from search.models import SearchWord

pytestmark = pytest.mark.django_db


def test_new_revision_replaces_the_indexed_text(runbook, editor):
    runbook.add_revision(
        author=editor, body="## Symptoms\n\n- Wombat queue backlog.\n", change_summary="Rewrite"
    )
    assert [h.runbook.pk for h in search("wombat").hits] == [runbook.pk]
    assert search("dashboard").hits == []


def test_changed_details_are_reindexed(runbook, editor):
    runbook.title = "Payments gateway timeouts"
    runbook.update_details(
        by=editor, changed_fields=["title"], labels={"alert_names": ["PaymentsTimeouts"]}
    )
    assert search("gateway").hits[0].runbook.pk == runbook.pk
    assert search("PaymentsTimeouts").hits[0].runbook.pk == runbook.pk
    assert search("CheckoutHighLatency").hits == []


def test_deleted_runbook_leaves_the_index(runbook):
    # current_revision protects the runbook; an admin clearing it first can delete.
    Runbook.objects.filter(pk=runbook.pk).update(current_revision=None)
    Runbook.objects.filter(pk=runbook.pk).delete()
    assert search("checkout").hits == []
    table = "search_runbooksearchdocument" if connection.vendor == "postgresql" else "search_fts"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchone()[0] == 0


def test_bulk_seeded_runbooks_are_indexed_by_the_bulk_signal(db):
    seed(30, detailed_limit=0)
    hits = search("CheckoutApiHighLatency").hits
    assert hits and hits[0].runbook.title == "Checkout-api high latency"


def test_bulk_reindex_runs_a_fixed_number_of_queries(db, django_assert_max_num_queries):
    from search.index import reindex

    seed(40, detailed_limit=0)
    ids = list(Runbook.objects.values_list("pk", flat=True))
    # One read, the deletes, the batched writes (index and vocabulary), and the savepoint pair of atomic().
    with django_assert_max_num_queries(8):
        reindex(ids)


def test_vocabulary_collects_words_from_titles_alerts_and_bodies(runbook):
    words = set(SearchWord.objects.values_list("word", flat=True))
    assert {"checkout", "latency", "checkouthighlatency", "high", "dashboard"} <= words
    assert "the" not in words


def test_rebuild_command_restores_a_wiped_index(runbook, capsys):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_runbooksearchdocument")
        if connection.vendor == "sqlite":
            cursor.execute("DELETE FROM search_fts")
    assert search("checkout").hits == []
    call_command("rebuild_search_index")
    assert search("checkout").hits[0].runbook.pk == runbook.pk
    assert "1 runbooks" in capsys.readouterr().out


def test_migrate_fills_an_empty_index_for_an_existing_library(runbook):
    from search.index import fill_if_empty

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_runbooksearchdocument")
        if connection.vendor == "sqlite":
            cursor.execute("DELETE FROM search_fts")
    fill_if_empty()
    assert search("checkout").hits[0].runbook.pk == runbook.pk

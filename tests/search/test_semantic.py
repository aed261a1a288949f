"""Semantic re-ranking: vectors stored at index time, candidates reordered by meaning."""

import pytest
from django.db import connection
from django.test import override_settings

from search import semantic
from search.engine import search
from search.index import fill_if_empty


def stored_vector(runbook_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT embedding FROM search_runbooksearchdocument WHERE runbook_id = %s",
            [runbook_id],
        )
        value = cursor.fetchone()[0]
    return None if value is None else bytes(value)


def test_model_loads_from_the_installed_package_without_network():
    # disable_download in semantic._model: a missing file raises instead of fetching.
    assert semantic.enabled()
    assert len(semantic.embed(["disk almost full"])[0]) == semantic.VECTOR_BYTES


@pytest.mark.django_db
def test_indexing_a_runbook_stores_its_vector(runbook):
    assert len(stored_vector(runbook.pk)) == semantic.VECTOR_BYTES


@pytest.mark.django_db
def test_switched_off_the_index_stores_no_vector(make_runbook):
    with override_settings(SEARCH_SEMANTIC_RERANK=False):
        runbook = make_runbook(title="Queue backlog growing")
    assert stored_vector(runbook.pk) is None


@pytest.mark.django_db
def test_rows_indexed_while_switched_off_get_vectors_after_migrate(make_runbook):
    with override_settings(SEARCH_SEMANTIC_RERANK=False):
        runbook = make_runbook(title="Queue backlog growing")
    fill_if_empty()
    assert len(stored_vector(runbook.pk)) == semantic.VECTOR_BYTES


def test_equal_lexical_scores_are_ordered_by_meaning():
    memory, printer = semantic.embed(
        ["container killed for exceeding its memory limit", "printer paper tray jammed"]
    )
    order = semantic.rerank("pod out of memory", [(1, 5.0), (2, 5.0)], {1: printer, 2: memory})
    assert order == [2, 1]


def test_a_much_better_lexical_match_keeps_its_place():
    memory, printer = semantic.embed(
        ["container killed for exceeding its memory limit", "printer paper tray jammed"]
    )
    order = semantic.rerank("pod out of memory", [(1, 25.0), (2, 1.0)], {1: printer, 2: memory})
    assert order == [1, 2]


def test_a_candidate_without_a_vector_is_neither_lifted_nor_sunk():
    memory, printer = semantic.embed(
        ["container killed for exceeding its memory limit", "printer paper tray jammed"]
    )
    order = semantic.rerank(
        "pod out of memory", [(1, 5.0), (2, 5.0), (3, 5.0)], {1: printer, 3: memory}
    )
    assert order == [3, 2, 1]


@pytest.mark.django_db
def test_search_puts_the_runbook_closest_in_meaning_first_among_equal_matches(make_runbook):
    # Both match only "restarting", in the title: a lexical tie the title order breaks.
    printer = make_runbook(
        title="Restarting a printer", summary="Paper tray jammed and toner empty."
    )
    crash = make_runbook(
        title="Restarting containers",
        summary="Containers killed for exceeding their memory limit.",
    )
    with override_settings(SEARCH_SEMANTIC_RERANK=False):
        lexical = [hit.runbook.pk for hit in search("restarting kubernetes").hits]
    reranked = [hit.runbook.pk for hit in search("restarting kubernetes").hits]
    assert lexical == [printer.pk, crash.pk]
    assert reranked == [crash.pk, printer.pk]

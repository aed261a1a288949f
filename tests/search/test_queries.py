import re

import pytest

from search.queries import MAX_TERMS, parse, split_camel


def test_bare_words_are_prefix_terms_in_both_engines():
    parsed = parse("quokka wombat")
    assert parsed.fts5() == '(("quokka" *) AND ("wombat" *))'
    assert parsed.tsquery() == "(((quokka:*)) & ((wombat:*)))"


def test_whole_words_of_the_library_are_not_prefixes():
    parsed = parse("quokka wombat").whole_words({"quokka"})
    assert parsed.fts5() == '(("quokka") AND ("wombat" *))'


def test_quotes_or_and_minus_follow_websearch_semantics():
    parsed = parse('"no space left" quokka or wombat -nfs')
    assert parsed.text() == '"no space left" quokka or wombat -nfs'
    assert parsed.fts5() == '(("no space left") AND ("quokka" *)) OR (("wombat" *) NOT "nfs")'
    assert parsed.tsquery() == "(((no <-> space <-> left)) & ((quokka:*))) | (((wombat:*)) & !nfs)"


def test_vocabulary_entries_become_alternatives_of_one_clause():
    parsed = parse("pod crashloop")
    assert len(parsed.clauses) == 2
    assert ("crashloopbackoff",) in parsed.clauses[1].alternatives
    assert ("container",) in parsed.clauses[0].alternatives


def test_a_phrase_of_the_vocabulary_is_matched_before_its_words():
    clause = parse("volume filling up").clauses[1]
    assert clause.words == ("filling", "up")
    assert ("out", "of", "space") in clause.alternatives


def test_camel_case_word_also_matches_its_words():
    clause = parse("OOMKilled").clauses[0]
    assert ("oom", "killed") in clause.alternatives


def test_snake_case_is_cut_into_words_and_squeezed_for_exact_names():
    parsed = parse("kube_hpa_maxed_out")
    assert parsed.terms[:2] == ["kube", "hpa"]
    assert parsed.compact == "kubehpamaxedout"


@pytest.mark.parametrize(
    "raw", ['*"', "AND OR", '"', "''", "!!!", "-", "or", "NOT", "(((", "^", "*", '"a" "the"']
)
def test_syntax_only_queries_parse_to_nothing(raw):
    assert parse(raw).is_empty


@pytest.mark.parametrize(
    "raw", ["col:term", "NEAR(disk full)", 'disk*"', "disk AND OR full", "{title}: disk"]
)
def test_engine_syntax_becomes_plain_quoted_words(raw):
    expression = parse(raw).fts5()
    # Outside our own double quotes only AND/OR/NOT, parentheses and prefix stars remain.
    outside = (
        re.sub(r'"[^"]*"', " ", expression).replace("(", " ").replace(")", " ").replace("*", " ")
    )
    assert set(outside.split()) <= {"AND", "OR", "NOT"}
    assert ":" not in expression and "{" not in expression


def test_unbalanced_quote_reads_as_plain_words():
    assert parse('"checkout latency').text() == "checkout latency"


def test_long_queries_are_capped():
    parsed = parse(" ".join(f"word{i}" for i in range(500)))
    assert len(parsed.terms) == MAX_TERMS
    assert parse("x" * 10_000).terms == ["x" * 40]


def test_exclusion_only_alternative_is_dropped():
    assert parse("disk or -nfs").text() == "disk"


def test_camel_case_alert_names_split_into_words():
    assert split_camel("KubePodCrashLooping") == "Kube Pod Crash Looping"
    assert split_camel("etcdNoLeader") == "etcd No Leader"
    assert split_camel("NodeRAIDDegraded") == "Node RAID Degraded"

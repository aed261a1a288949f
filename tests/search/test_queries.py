import pytest

from search.queries import MAX_TERMS, parse, split_camel


def test_bare_words_are_prefix_terms_in_both_engines():
    parsed = parse("crash loop")
    assert parsed.fts5() == '("crash" * AND "loop" *)'
    assert parsed.tsquery_prefix() == "(crash:* & loop:*)"


def test_quotes_or_and_minus_follow_websearch_semantics():
    parsed = parse('"no space left" disk or volume -nfs')
    assert parsed.text() == '"space left" disk or volume -nfs'
    assert parsed.fts5() == '("space left" AND "disk" *) OR ("volume" * NOT "nfs")'
    assert parsed.tsquery_prefix() == "((space <-> left) & disk:*) | (volume:* & !nfs)"


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
    # Only our own quotes, AND/OR/NOT and prefix stars survive; every word is quoted.
    stripped = expression.replace('"', " ").replace("(", " ").replace(")", " ").replace("*", " ")
    assert set(stripped.split()) <= {"col", "term", "near", "disk", "full", "title", "AND", "OR"}
    assert ":" not in expression and "{" not in expression


def test_unbalanced_quote_reads_as_plain_words():
    assert parse('"disk full').text() == "disk full"


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

from search.queries import parse
from search.snippets import Matcher, snippet

TEXT = (
    "Writes fail with no space left on device on orders-db.\n\n"
    "## Symptoms\n\n"
    "- Pods restarted after OOMKilled events.\n"
    "- The connection pool is exhausted and clients wait for a connection.\n"
)


def cut(q, text=TEXT, words=24):
    parsed = parse(q)
    return snippet(text, Matcher.for_clauses(parsed.clauses), words=words, start="[", stop="]")


def test_a_typed_word_marks_its_inflections():
    assert "[Pods] [restarted]" in cut("pod restarting")


def test_a_typed_prefix_marks_the_words_it_begins():
    assert "[connection]" in cut("connect")


def test_a_phrase_marks_its_words_only_where_they_follow_each_other():
    assert "[space] [left]" in cut('"space left"')
    assert "[" not in cut('"left space"')


def test_a_vocabulary_alternative_is_marked():
    # "disk full" is not in the text; its alternative "no space left" is.
    assert "[no] [space] [left]" in cut("disk full")


def test_no_match_shows_the_first_words():
    assert cut("quokka", words=4) == "Writes fail with no …"


def test_the_fragment_keeps_punctuation_and_case():
    assert "on [orders]-[db]." in cut("orders db")


def test_clauses_too_far_apart_get_a_fragment_each():
    far = " ".join(["alpha"] + ["filler"] * 40 + ["omega"] + ["filler"] * 10)
    assert (
        cut("alpha omega", text=far, words=10)
        == "[alpha] filler filler filler filler … filler filler [omega] filler filler …"
    )

"""Line diffs between revision bodies."""

from runbooks import diffs

OLD = "a\nb\nc\n"
NEW = "a\nB\nc\nd\n"


def test_inline_puts_deletions_before_insertions_of_a_replaced_block():
    kinds = [(line.kind, line.text) for line in diffs.inline(OLD, NEW)]
    assert kinds == [("equal", "a"), ("delete", "b"), ("insert", "B"), ("equal", "c"), ("insert", "d")]


def test_inline_numbers_lines_on_each_side():
    lines = diffs.inline(OLD, NEW)
    assert (lines[1].old_no, lines[1].new_no) == (2, None)
    assert (lines[2].old_no, lines[2].new_no) == (None, 2)
    assert (lines[-1].old_no, lines[-1].new_no) == (None, 4)


def test_side_by_side_pairs_replaced_lines():
    rows = diffs.side_by_side(OLD, NEW)
    assert rows[1] == diffs.DiffRow("replace", 2, "b", 2, "B")
    assert rows[-1] == diffs.DiffRow("insert", None, "", 4, "d")


def test_side_by_side_pads_the_shorter_side_of_a_replacement():
    rows = diffs.side_by_side("x\n", "y\nz\n")
    assert rows == [diffs.DiffRow("replace", 1, "x", 1, "y"), diffs.DiffRow("replace", None, "", 2, "z")]


def test_stats_counts_added_and_removed_lines():
    assert diffs.stats(OLD, NEW) == (2, 1)


def test_identical_texts_have_no_changes():
    assert diffs.stats(OLD, OLD) == (0, 0)
    assert all(row.kind == "equal" for row in diffs.side_by_side(OLD, OLD))


def test_empty_old_text_is_all_insertions():
    assert [line.kind for line in diffs.inline("", "one\ntwo")] == ["insert", "insert"]


def test_repetitive_runbook_lines_are_not_treated_as_junk():
    # autojunk would treat frequent lines such as "```" as noise and misalign long runbooks.
    old = "```\n" * 250 + "end\n"
    new = "```\n" * 250 + "changed\n"
    assert diffs.stats(old, new) == (1, 1)

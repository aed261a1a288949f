"""Three-way merge of runbook text: what merges, what conflicts, what a choice keeps."""

from runbooks import merge

BASE = "# Disk full\n\n1. Check usage.\n\n2. Clean logs.\n\n3. Page storage.\n"


def test_edits_to_different_lines_merge_cleanly():
    mine = BASE.replace("Check usage.", "Check usage with `df -h`.")
    theirs = BASE.replace("Page storage.", "Page the storage on-call.")
    result = merge.three_way(BASE, mine, theirs)
    assert result.clean
    assert result.text == BASE.replace("Check usage.", "Check usage with `df -h`.").replace(
        "Page storage.", "Page the storage on-call."
    )


def test_the_same_change_on_both_sides_is_not_a_conflict():
    both = BASE.replace("Clean logs.", "Rotate logs.")
    result = merge.three_way(BASE, both, both)
    assert result.clean
    assert result.text == both


def test_overlapping_edits_mark_only_the_overlapping_hunk():
    mine = BASE.replace("Clean logs.", "Clean old logs.").replace(
        "Check usage.", "Check usage now."
    )
    theirs = BASE.replace("Clean logs.", "Truncate logs.")
    result = merge.three_way(BASE, mine, theirs, their_label="revision 4 by erin")
    assert [(c.number, c.base, c.mine, c.theirs) for c in result.conflicts] == [
        (1, ["2. Clean logs.\n"], ["2. Clean old logs.\n"], ["2. Truncate logs.\n"])
    ]
    assert "1. Check usage now.\n" in result.text
    assert (
        "<<<<<<< conflict 1: your change\n2. Clean old logs.\n"
        "======= conflict 1: their change\n2. Truncate logs.\n"
        ">>>>>>> conflict 1 ends (revision 4 by erin)\n"
    ) in result.text


def test_resolving_without_a_choice_keeps_both_sides_marked():
    conflicted = merge.three_way(
        BASE, BASE.replace("Clean", "Mine"), BASE.replace("Clean", "Theirs")
    ).text
    assert merge.resolve(conflicted, {}) == conflicted
    assert merge.unresolved(conflicted) == 1


def test_choosing_mine_discards_only_their_side_of_that_conflict():
    conflicted = merge.three_way(
        BASE, BASE.replace("Clean", "Mine"), BASE.replace("Clean", "Theirs")
    ).text
    assert merge.resolve(conflicted, {1: merge.MINE}) == BASE.replace("Clean", "Mine")
    assert merge.resolve(conflicted, {1: merge.THEIRS}) == BASE.replace("Clean", "Theirs")


def test_a_conflict_resolved_by_hand_is_left_alone():
    hand_written = BASE.replace("Clean", "Both of ours")
    assert merge.resolve(hand_written, {1: merge.MINE}) == hand_written
    assert merge.unresolved(hand_written) == 0


def test_an_unknown_base_merges_nothing_automatically():
    result = merge.three_way("", "a\nb\n", "a\nc\n")
    assert not result.clean
    assert "a\nb\n" in result.text and "a\nc\n" in result.text

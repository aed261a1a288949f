from pathlib import Path

from incidents.checklist import parse_steps

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def texts(body: str) -> list[str]:
    return [step.text for step in parse_steps(body)]


def test_steps_come_from_procedure_sections_only():
    body = """## Symptoms

1. Users see errors.

## Resolution

1. Roll back.
2. Purge the cache.

## Verification

- [ ] Error rate below 1%
"""
    assert texts(body) == ["Roll back.", "Purge the cache.", "Error rate below 1%"]


def test_steps_are_numbered_from_one_in_document_order():
    steps = parse_steps("## Procedure\n\n1. First\n2. Second\n\n## Verification\n\n1. Third\n")
    assert [(s.index, s.section, s.text) for s in steps] == [
        (1, "Procedure", "First"),
        (2, "Procedure", "Second"),
        (3, "Verification", "Third"),
    ]


def test_numbered_lines_inside_fenced_code_are_not_steps():
    body = "## Procedure\n\n1. Run this:\n\n   ```sh\n   1. not a step\n   ```\n\n2. Then this.\n"
    assert texts(body) == ["Run this:", "Then this."]


def test_plain_bullets_are_not_steps():
    assert texts("## Procedure\n\n- context\n\n1. Act\n") == ["Act"]


def test_without_step_sections_every_ordered_and_task_item_counts():
    body = "# Thing\n\n## Notes\n\n1. One\n\n## Other\n\n- [x] Two\n"
    assert texts(body) == ["One", "Two"]


def test_continuation_lines_join_the_step_text():
    assert texts("## Procedure\n\n1. Drain the node\n   before rebooting.\n2. Reboot.\n") == [
        "Drain the node before rebooting.",
        "Reboot.",
    ]


def test_setext_headings_start_sections():
    body = "Overview\n========\n\n1. Background item\n\nProcedure\n---------\n\n1. Real step\n"
    assert texts(body) == ["Real step"]


def test_text_without_lists_or_action_sections_has_no_steps():
    assert parse_steps("## Background\n\nJust prose.\n") == []
    assert parse_steps("") == []


def test_an_action_section_of_prose_only_gives_a_step_per_paragraph():
    assert texts("## Mitigation\n\nScale the pool.\n\nThen tell support.\n") == [
        "Scale the pool.",
        "Then tell support.",
    ]


def test_real_openshift_runbook_yields_its_diagnosis_and_mitigation_steps():
    path = (
        CORPUS
        / "openshift-runbooks"
        / "openshift-container-storage-operator"
        / "StorageAutoScalingFailed.md"
    )
    steps = parse_steps(path.read_text())
    assert {s.section for s in steps} == {"Diagnosis", "Mitigation"}
    assert steps[0].text.startswith("OSD pod is in `Pending` state")
    # The YAML inside the fenced block ("status:", "- ReadWriteOnce") never becomes a step.
    assert not any("ReadWriteOnce" in s.text for s in steps)


def test_indented_fence_under_a_step_becomes_its_copyable_command():
    body = "## Procedure\n\n1. Restart the pods:\n\n   ```bash\n   kubectl rollout restart deploy/api\n   ```\n\n2. Watch them.\n"
    steps = parse_steps(body)
    assert steps[0].commands == ("kubectl rollout restart deploy/api",)
    assert steps[1].commands == ()


def test_unindented_fence_after_a_paragraph_is_not_a_step_command():
    body = "## Procedure\n\n1. Restart the pods.\n\nSome prose.\n\n```bash\nrm -rf /\n```\n"
    assert parse_steps(body)[0].commands == ()


def test_subsections_of_a_step_section_are_followed_too():
    body = "## Resolution\n\n### Immediate actions\n\n1. Fail over.\n\n## Prevention\n\n1. Add capacity.\n"
    assert [s.text for s in parse_steps(body)] == ["Fail over."]


def test_step_text_is_escaped_with_code_spans_marked():
    step = parse_steps("## Procedure\n\n1. Run `ls <dir>` then <b>stop</b>\n")[0]
    # Inline HTML shows as its text, the way the rendered page shows it.
    assert step.text_html == "Run <code>ls &lt;dir&gt;</code> then stop"

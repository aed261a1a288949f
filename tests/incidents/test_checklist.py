from pathlib import Path

import pytest
from django.urls import reverse

from incidents.checklist import is_action_section, parse_steps
from incidents.models import (
    ChecklistRun,
    Drill,
    IncidentRunbook,
    InvalidTransition,
    StepProgress,
    TimelineEntry,
)
from runbooks.outline import outline

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


# --- steps from prose, fences and sub-headings --------------------------------


def test_a_fence_with_the_paragraph_that_introduces_it_is_a_step():
    steps = parse_steps("## Diagnosis\n\nCheck the pods:\n\n```shell\noc get pods\n```\n")
    assert [(s.text, s.commands) for s in steps] == [("Check the pods:", ("oc get pods",))]


def test_a_fence_right_under_its_paragraph_is_still_a_command():
    steps = parse_steps("## Diagnosis\n\nCheck the pods:\n```shell\noc get pods\n```\nThen wait.\n")
    assert steps[0].commands == ("oc get pods",)


def test_a_sub_heading_under_an_action_section_is_a_step_with_its_content():
    body = "## Mitigation\n\n### Scale the storage\n\nAdd nodes to the cluster.\n\n### Delete data\n\nFree space.\n"
    steps = parse_steps(body)
    assert [(s.section, s.text, s.detail) for s in steps] == [
        ("Mitigation", "Scale the storage", "Add nodes to the cluster."),
        ("Mitigation", "Delete data", "Free space."),
    ]


def test_commands_are_copy_ready_without_prompts_or_output():
    steps = parse_steps(
        "## Diagnosis\n\nList nodes:\n\n```\n$ kubectl get nodes\nNAME STATUS\nn1 Ready\n```\n"
    )
    assert steps[0].commands == ("kubectl get nodes",)


def test_an_action_heading_without_content_gives_no_step_of_its_own():
    assert texts("## Troubleshooting\n\n## Notes\n\nJust prose.\n") == []


# --- identity -----------------------------------------------------------------


def test_a_step_keeps_its_key_when_other_steps_are_added_before_it():
    before = parse_steps("## Procedure\n\n1. Drain the node.\n")
    after = parse_steps("## Procedure\n\n1. Announce it.\n2. Drain the node.\n")
    assert before[0].key == after[1].key


def test_two_steps_with_the_same_text_have_different_keys():
    steps = parse_steps("## Procedure\n\n1. Wait.\n2. Wait.\n")
    assert steps[0].key != steps[1].key


# --- the corpus ---------------------------------------------------------------


def corpus_runbooks() -> list[Path]:
    return sorted(CORPUS.rglob("*.md"))


def test_at_least_95_percent_of_corpus_runbooks_with_an_action_section_yield_steps():
    with_action = [
        path
        for path in corpus_runbooks()
        if any(is_action_section(h) for h in outline(path.read_text(errors="replace")).headings)
    ]
    followable = [path for path in with_action if parse_steps(path.read_text(errors="replace"))]
    assert len(with_action) > 300
    assert len(followable) / len(with_action) >= 0.95


SPOT_CHECKS = [
    ("prometheus-operator-runbooks/etcd/etcdMembersDown.md", 1),
    ("prometheus-operator-runbooks/kubernetes/KubePodCrashLooping.md", 1),
    ("prometheus-operator-runbooks/node/NodeFilesystemSpaceFillingUp.md", 1),
    ("openshift-runbooks/cluster-network-operator/NorthboundStaleAlert.md", 1),
    ("openshift-runbooks/cluster-network-operator/NorthboundStaleAlert.md", 4),
    ("openshift-runbooks/openshift-container-storage-operator/CephClusterNearFull.md", 1),
    ("openshift-runbooks/openshift-container-storage-operator/CephClusterNearFull.md", 2),
    ("openshift-runbooks/cluster-etcd-operator/etcdSignerCAExpirationCritical.md", 1),
    ("openshift-runbooks/cluster-kube-apiserver-operator/AuditLogError.md", 1),
    ("openshift-runbooks/openshift-container-storage-operator/StorageAutoScalingFailed.md", 2),
]


def spot_steps():
    for name, index in SPOT_CHECKS:
        path = next(iter(CORPUS.glob(name)), None) or next(CORPUS.rglob(Path(name).name))
        steps = parse_steps(path.read_text(errors="replace"))
        yield name, steps[index - 1]
        # And one from the far end of the same runbook.
        yield name, steps[-1]


def reads_on_its_own(text: str) -> bool:
    """A sentence-like text: starts with a word, has a few words, no markdown syntax or stash debris."""
    words = text.split()
    return (
        len(words) >= 2
        and len(text) <= 500
        and text[0].isalnum()
        and not any(
            marker in text
            for marker in ("](", "```", "\x02", "\x03", "wzxhzdk", "<", "&lt;", "&amp;")
        )
    )


def test_twenty_corpus_steps_read_sensibly_on_their_own():
    checked = list(spot_steps())
    assert len(checked) == 20
    unreadable = [(name, step.text) for name, step in checked if not reads_on_its_own(step.text)]
    assert unreadable == []


def test_corpus_commands_are_code_not_prose():
    _, step = next(spot_steps())
    assert step.commands and step.commands[0].startswith("kubectl get nodes")


# --- progress: identity, undo, runs outside an incident ------------------------


@pytest.mark.django_db
def test_progress_follows_the_step_not_its_position(attached, editor):
    third = attached.steps[2]
    attached.record_step(third.key, "done", by=editor)
    # A reading rule that puts a new step first must not move "done" to another step.
    progress = StepProgress.objects.get()
    assert (progress.step_key, progress.step_text) == (third.key, third.text)
    reloaded = IncidentRunbook.objects.get(pk=attached.pk)
    reloaded.steps = [attached.steps[1], *attached.steps]  # type: ignore[misc]
    done = [step.text for step, p in reloaded.checklist() if p is not None]
    assert done == [third.text]


@pytest.mark.django_db
def test_undoing_a_done_step_reopens_it_and_keeps_both_records(attached, editor):
    key = attached.steps[0].key
    attached.record_step(key, "done", by=editor)
    attached.record_step(key, "undone", by=editor)
    _, progress = IncidentRunbook.objects.get(pk=attached.pk).checklist()[0]
    assert progress is None
    assert list(StepProgress.objects.values_list("state", flat=True)) == ["done", "undone"]
    assert TimelineEntry.objects.filter(
        kind="step", text__contains="step 1 undone (was done)"
    ).exists()


@pytest.mark.django_db
def test_undoing_a_step_nobody_touched_is_refused(attached, editor):
    with pytest.raises(InvalidTransition, match="nothing to undo"):
        attached.record_step(attached.steps[0].key, "undone", by=editor)


@pytest.mark.django_db
def test_a_runbook_can_be_followed_without_an_incident(runbook, editor):
    run = ChecklistRun.start(runbook, by=editor, purpose="maintenance", title="Quarterly failover")
    run.record_step(run.steps[0].key, "done", by=editor)
    run = ChecklistRun.objects.get(pk=run.pk)
    assert run.revision_id == runbook.current_revision_id
    assert [p.state for p in run.timeline()] == ["done"]
    assert run.current_step() == run.steps[1]


@pytest.mark.django_db
def test_a_run_can_be_recorded_as_a_drill(runbook, editor):
    run = ChecklistRun.start(runbook, by=editor, purpose="drill")
    drill = run.record_drill(by=editor, participants="eddie, rhea", outcome="passed")
    assert Drill.objects.get() == drill
    assert runbook.history.filter(reference=drill.number).exists()
    run.refresh_from_db()
    assert run.drill == drill and not run.is_open


@pytest.mark.django_db
def test_a_finished_run_is_read_only(runbook, editor):
    run = ChecklistRun.start(runbook, by=editor)
    run.finish(by=editor)
    with pytest.raises(InvalidTransition, match="finished"):
        run.record_step(run.steps[0].key, "done", by=editor)


@pytest.mark.django_db
def test_following_a_runbook_from_its_page_starts_a_run(editor_client, runbook):
    response = editor_client.post(
        reverse("drills:run_start", args=[runbook.slug]), {"purpose": "practice"}
    )
    run = ChecklistRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.purpose == "practice"


@pytest.mark.django_db
def test_a_step_on_a_run_with_htmx_answers_with_out_of_band_updates(editor_client, runbook, editor):
    run = ChecklistRun.start(runbook, by=editor)
    key = run.steps[0].key
    response = editor_client.post(
        reverse("drills:run_step", args=[run.pk]),
        {"step": key, "state": "done"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="status-{key}" data-state="done" hx-swap-oob="true"' in body
    # Only the status fragments: the note boxes people type in are never in a poll answer.
    assert 'name="note"' not in body


@pytest.mark.django_db
def test_the_run_page_shows_its_timeline(viewer_client, runbook, editor):
    run = ChecklistRun.start(runbook, by=editor)
    run.record_step(run.steps[0].key, "done", by=editor)
    run.record_step(run.steps[0].key, "undone", by=editor)
    body = viewer_client.get(run.get_absolute_url()).content.decode()
    assert body.count(run.steps[0].text) >= 3  # the step itself and two timeline rows
    assert "undone" in body


@pytest.mark.django_db
def test_the_checklist_page_takes_a_constant_number_of_queries(
    viewer_client, attached, editor, django_assert_max_num_queries
):
    for step in attached.steps:
        attached.record_step(step.key, "done", by=editor)
    url = reverse("incidents:checklist", args=[attached.incident.number, attached.runbook.slug])
    with django_assert_max_num_queries(12):
        assert viewer_client.get(url).status_code == 200

"""Importing a folder of markdown runbooks: the corpus, our fixture library, bad input."""

import datetime as dt
import shutil
from pathlib import Path

import pytest

from runbooks.importing import import_directory, parse_file
from runbooks.models import AuditEvent, HistoryEntry, Revision, Runbook

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"
FIXTURE = REPO / "tests" / "fixtures" / "docs_library"


@pytest.fixture
def library(tmp_path):
    """A writable copy of the fixture library."""
    target = tmp_path / "library"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.fixture
def people(editor, reviewer, viewer):
    return {"eddie": editor, "rhea": reviewer, "vera": viewer}


# --- the third-party corpus ------------------------------------------------


@pytest.mark.django_db
def test_every_corpus_file_imports_without_failure():
    report = import_directory(CORPUS)

    assert report.failed == []
    markdown_files = [p for p in CORPUS.rglob("*") if p.suffix in (".md", ".markdown")]
    assert len(report.results) == len(markdown_files)
    assert len(report.created) == Runbook.objects.count() > 370
    crash = Runbook.objects.get(slug="kubepodcrashlooping")
    assert crash.title == "Kube Pod Crash Looping"
    assert list(crash.alert_names.values_list("name", flat=True)) == ["KubePodCrashLooping"]
    assert Runbook.objects.with_alert("etcdNoLeader").count() == 2
    assert Runbook.objects.get(slug="cluster-etcd-operator-etcdnoleader").kind == "incident"


@pytest.mark.django_db
def test_corpus_files_with_the_same_name_get_folder_prefixed_slugs():
    import_directory(CORPUS)

    slugs = set(Runbook.objects.with_alert("KubeAPIDown").values_list("slug", flat=True))
    assert slugs == {
        "kubernetes-kubeapidown",
        "cluster-kube-apiserver-operator-kubeapidown",
        "cluster-monitoring-operator-kubeapidown",
    }


@pytest.mark.django_db
def test_reimporting_the_corpus_creates_nothing_new():
    import_directory(CORPUS)
    revisions = Revision.objects.count()

    report = import_directory(CORPUS)

    assert report.created == report.updated == report.failed == []
    assert Revision.objects.count() == revisions


@pytest.mark.django_db
def test_corpus_section_pages_and_top_readme_are_skipped_not_failed():
    report = import_directory(CORPUS)

    skipped = {r.path for r in report.skipped}
    assert "README.md" in skipped
    assert "prometheus-operator-runbooks/_index.md" in skipped
    nested_readme = report.result_for(
        "openshift-runbooks/cluster-network-operator/hierarchy/README.md"
    )
    assert (nested_readme.status, nested_readme.slug) == ("created", "hierarchy-readme")


@pytest.mark.django_db
def test_camel_case_helper_pages_are_not_alerts():
    import_directory(CORPUS / "openshift-runbooks" / "openshift-container-storage-operator")

    helper = Runbook.objects.get(slug="gatherlogs")
    assert helper.title == "Optional log gathering"
    assert helper.alert_names.count() == 0


# --- the fixture library -----------------------------------------------------


@pytest.mark.django_db
def test_front_matter_sets_every_field(people):
    import_directory(FIXTURE)

    runbook = Runbook.objects.get(slug="orders-replica-lag")
    assert (runbook.title, runbook.kind, runbook.category, runbook.severity) == (
        "Orders database replica lag",
        "incident",
        "database",
        "P0",
    )
    assert runbook.owner == people["rhea"]
    assert runbook.team.name == "Data"
    assert runbook.review_cadence == "weekly"
    assert runbook.audience == "Database on-call"
    assert runbook.summary == "Replica lag above 60 seconds on the orders database."
    assert sorted(runbook.alert_names.values_list("name", flat=True)) == [
        "OrdersReplicaBroken",
        "OrdersReplicaLagHigh",
    ]
    assert list(runbook.services.values_list("name", flat=True)) == ["orders-db"]
    assert sorted(runbook.tags.values_list("name", flat=True)) == ["postgres", "replication"]
    assert runbook.version == "2.3"


@pytest.mark.django_db
def test_owner_severity_audience_and_service_lines_are_read(people):
    import_directory(FIXTURE)

    runbook = Runbook.objects.get(slug="checkout-latency")
    assert runbook.owner == people["eddie"]
    assert runbook.severity == "P1"  # the file's own line beats the README's P0
    assert runbook.audience == "On-call SRE, Incident commander"
    assert sorted(runbook.services.values_list("name", flat=True)) == [
        "checkout-api",
        "payments-gateway",
    ]


@pytest.mark.django_db
def test_readme_index_fills_summary_category_and_severity():
    report = import_directory(FIXTURE)

    latency = Runbook.objects.get(slug="checkout-latency")
    assert latency.summary == "Checkout p99 above 2 s."
    assert latency.category == "performance"
    errors = Runbook.objects.get(slug="checkouthigherrorrate")
    assert (errors.severity, errors.audience) == ("P1", "On-call SRE")
    assert report.result_for("README.md").status == "skipped"


@pytest.mark.django_db
def test_file_named_after_an_alert_records_it():
    import_directory(FIXTURE)

    assert Runbook.objects.with_alert("checkouthigherrorrate").get().title == "Checkout error rate"


@pytest.mark.django_db
def test_kind_is_guessed_from_section_headings():
    import_directory(FIXTURE)

    assert Runbook.objects.get(slug="restore-backup").kind == "procedure"
    assert Runbook.objects.get(slug="checkouthigherrorrate").kind == "incident"


@pytest.mark.django_db
def test_document_history_table_becomes_history_entries(people):
    import_directory(FIXTURE)

    runbook = Runbook.objects.get(slug="checkout-latency")
    rows = list(
        runbook.history.order_by("date").values_list(
            "date", "trigger", "reference", "summary", "version", "reviewer"
        )
    )
    assert rows == [
        (dt.date(2024, 11, 2), "change", "Initial", "First version", "1.0", "rhea"),
        (
            dt.date(2025, 1, 17),
            "incident",
            "INC-2025-0042",
            "Added scale-out step after the January outage",
            "1.1",
            "rhea",
        ),
        (dt.date(2025, 3, 4), "drill", "DR-007", "Drill: timings confirmed", "1.2", "vera"),
    ]
    assert "Document history" not in runbook.current_revision.body
    assert runbook.current_revision.body.rstrip().endswith("| L1 | on-call engineer |")


@pytest.mark.django_db
def test_history_columns_are_mapped_by_header_keywords_in_any_order():
    import_directory(FIXTURE)

    entry = Runbook.objects.get(slug="orders-replica-lag").history.get()
    assert (entry.date, entry.trigger, entry.reference, entry.summary, entry.reviewer) == (
        dt.date(2025, 2, 1),
        "incident",
        "INC-2025-0101",
        "Added the pause step",
        "rhea",
    )


@pytest.mark.django_db
def test_file_without_history_table_gets_one_import_entry_dated_last_updated(library):
    (library / "payments" / "checkout-latency.md").write_text(
        "# Checkout latency\n\n**Last Updated:** 2025-03-04\n\n## Symptoms\n\nSlow.\n"
    )
    import_directory(library)

    entry = Runbook.objects.get(slug="checkout-latency").history.get()
    assert (entry.trigger, entry.date, entry.summary) == (
        "import",
        dt.date(2025, 3, 4),
        "Imported from payments/checkout-latency.md",
    )


@pytest.mark.django_db
def test_links_between_files_become_app_links_and_others_stay():
    import_directory(FIXTURE)

    body = Runbook.objects.get(slug="checkout-latency").current_revision.body
    assert "[error-rate runbook](/runbooks/checkouthigherrorrate/#diagnosis)" in body
    assert "[database replica lag runbook](/runbooks/orders-replica-lag/)" in body
    assert "[Grafana](https://grafana.com/docs/)" in body
    assert "[a local note](notes.txt)" in body
    restore_link = Runbook.objects.get(slug="orders-replica-lag").current_revision.body
    assert "[restore from backup](/runbooks/restore-backup/)" in restore_link


@pytest.mark.django_db
def test_reimporting_the_same_folder_changes_nothing(people):
    import_directory(FIXTURE)
    counts = (
        Runbook.objects.count(),
        Revision.objects.count(),
        HistoryEntry.objects.count(),
        AuditEvent.objects.count(),
    )

    report = import_directory(FIXTURE)

    assert len(report.unchanged) == 4 and not report.created and not report.updated
    assert counts == (
        Runbook.objects.count(),
        Revision.objects.count(),
        HistoryEntry.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.django_db
def test_changed_file_creates_exactly_one_import_revision(library, people):
    import_directory(library)
    path = library / "database" / "restore-backup.md"
    path.write_text(path.read_text() + "3. Start writers again.\n")

    report = import_directory(library)

    assert [r.path for r in report.updated] == ["database/restore-backup.md"]
    runbook = Runbook.objects.get(slug="restore-backup")
    assert runbook.revisions.count() == 2
    assert runbook.current_revision.body.endswith("3. Start writers again.\n")
    assert runbook.history.filter(trigger="import").count() == 2


@pytest.mark.django_db
def test_changed_front_matter_only_updates_details_without_a_revision(library, people):
    import_directory(library)
    path = library / "database" / "replica-lag.md"
    path.write_text(path.read_text().replace("severity: P0", "severity: P1"))

    report = import_directory(library)

    runbook = Runbook.objects.get(slug="orders-replica-lag")
    assert [r.path for r in report.updated] == ["database/replica-lag.md"]
    assert (runbook.severity, runbook.revisions.count()) == ("P1", 1)


@pytest.mark.django_db
def test_reimport_keeps_fields_the_file_does_not_state(library):
    import_directory(library)
    Runbook.objects.filter(slug="restore-backup").update(kind="guardrail")

    report = import_directory(library)

    assert report.result_for("database/restore-backup.md").status == "unchanged"
    assert Runbook.objects.get(slug="restore-backup").kind == "guardrail"


@pytest.mark.django_db
def test_dry_run_reports_but_writes_nothing(people):
    report = import_directory(FIXTURE, dry_run=True)

    assert report.dry_run and len(report.created) == 4
    assert (
        Runbook.objects.count() == HistoryEntry.objects.count() == AuditEvent.objects.count() == 0
    )


@pytest.mark.django_db
def test_default_owner_and_team_apply_when_the_file_names_none(library, editor):
    import_directory(library, owner="eddie", team="Platform")

    runbook = Runbook.objects.get(slug="restore-backup")
    assert (runbook.owner, runbook.team.name) == (editor, "Platform")
    assert runbook.revisions.get().author == editor


@pytest.mark.django_db
def test_unknown_owner_line_is_reported_and_used_as_the_team(library):
    report = import_directory(library)

    result = report.result_for("payments/checkout-latency.md")
    assert result.status == "created"
    assert "owner 'eddie' is not a user here; recorded as the team" in result.warnings
    assert Runbook.objects.get(slug="checkout-latency").owner is None


# --- bad input -------------------------------------------------------------


def _write(folder: Path, name: str, content: bytes) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"# Caf\xe9\n", "not UTF-8 text (invalid byte at offset 5)"),
        ("# UTF-16 without a BOM\n".encode("utf-16-le"), "not UTF-8 text (NUL byte at offset 1"),
        (b"---\ntitle: x\n# Never closed\n", "front matter starts with --- but is never closed"),
        (
            b"---\n- a\n- b\n---\n# Body\n",
            "front matter must be a mapping of keys to values, not a list",
        ),
        (b"---\ntitle: [unclosed\n---\n# Body\n", "front matter is not valid YAML"),
    ],
)
def test_bad_file_is_reported_and_others_still_import(library, content, reason):
    _write(library, "Broken.md", content)

    report = import_directory(library)

    [failed] = report.failed
    assert failed.path == "Broken.md" and failed.reason.startswith(reason)
    assert len(report.created) == 4
    assert not Runbook.objects.filter(slug="broken").exists()


@pytest.mark.django_db
def test_file_over_the_size_limit_is_reported(library, settings):
    settings.IMPORT_MAX_FILE_BYTES = 2048
    _write(library, "Huge.md", b"# Huge\n\n" + b"word " * 1000)

    report = import_directory(library)

    assert report.result_for("Huge.md").reason == "file is 5,008 bytes, over the 2,048-byte limit"


@pytest.mark.django_db
def test_symlink_pointing_outside_the_folder_is_never_read(library, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n\nDo not import.\n")
    (library / "Leak.md").symlink_to(secret)
    (library / "linked-dir").symlink_to(tmp_path, target_is_directory=True)

    report = import_directory(library)

    assert (
        report.result_for("Leak.md").reason
        == "symlink pointing outside the imported folder; not read"
    )
    assert not Runbook.objects.filter(title="Secret").exists()


@pytest.mark.django_db
def test_symlink_inside_the_folder_is_followed(library):
    (library / "alias.md").symlink_to(library / "database" / "restore-backup.md")

    report = import_directory(library)

    assert report.result_for("alias.md").status == "created"


@pytest.mark.django_db
def test_unknown_front_matter_values_fall_back_with_a_warning(library):
    _write(
        library,
        "Odd.md",
        b"---\nkind: saga\ncategory: vibes\nseverity: P9\nreview_cadence: yearly\n---\n# Odd\n\n## Procedure\n\n1. Go.\n",
    )

    report = import_directory(library)

    result = report.result_for("Odd.md")
    assert result.status == "created"
    assert (
        len(result.warnings) == 4
        and "unknown severity 'P9' in front matter; kept the default" in result.warnings
    )
    odd = Runbook.objects.get(slug="odd")
    assert (odd.kind, odd.category, odd.severity, odd.review_cadence) == (
        "procedure",
        "service",
        "P2",
        "monthly",
    )


@pytest.mark.django_db
def test_two_files_claiming_one_slug_give_the_later_in_path_order_a_suffix(library):
    _write(library, "zz-copy.md", b"---\nslug: orders-replica-lag\n---\n# Copy\n\nText.\n")

    report = import_directory(library)

    result = report.result_for("zz-copy.md")
    assert (result.status, result.slug) == ("created", "orders-replica-lag-library")
    assert (
        "slug 'orders-replica-lag' is taken or reserved; this runbook is 'orders-replica-lag-library'"
        in result.warnings
    )
    assert Runbook.objects.get(slug="orders-replica-lag").title == "Orders database replica lag"


@pytest.mark.django_db
def test_a_file_that_fails_while_saving_leaves_nothing_behind(library, monkeypatch):
    def explode(self, **labels):
        raise RuntimeError("label table unavailable")

    monkeypatch.setattr(Runbook, "set_labels", explode)

    report = import_directory(library)

    assert len(report.failed) == 4
    assert report.failed[0].reason == "could not be saved: label table unavailable"
    assert Runbook.objects.count() == Revision.objects.count() == HistoryEntry.objects.count() == 0


def test_non_markdown_files_are_not_considered(tmp_path, db):
    _write(tmp_path, "LICENSE", b"Apache")
    _write(tmp_path, "notes.txt", b"hello")
    _write(tmp_path, "Page.markdown", b"# Page\n\nText.\n")

    report = import_directory(tmp_path)

    assert [r.path for r in report.results] == ["Page.markdown"]


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        import_directory(tmp_path / "nope")


def test_parse_keeps_prose_after_history_section_heading_out_of_the_table():
    parsed = parse_file(
        "x.md",
        "# X\n\nBody.\n\n## Revision history\n\nKept note.\n\n| Date | Summary |\n| --- | --- |\n| 2024-01-02 | Made |\n",
    )

    assert parsed.body == "# X\n\nBody.\n\nKept note.\n"
    assert [(r.date, r.summary) for r in parsed.history] == [(dt.date(2024, 1, 2), "Made")]


# --- provenance: re-imports match on (collection, path), never on the slug -------------

OPENSHIFT = CORPUS / "openshift-runbooks"
PROMETHEUS = CORPUS / "prometheus-operator-runbooks"


@pytest.mark.django_db
def test_two_corpus_collections_imported_separately_keep_same_named_files_apart():
    first = import_directory(OPENSHIFT)
    openshift_bodies = dict(Runbook.objects.values_list("pk", "current_revision__body"))

    second = import_directory(PROMETHEUS)

    assert first.failed == second.failed == [] and first.created and second.created
    assert second.updated == second.conflicts == []
    assert (
        dict(
            Runbook.objects.filter(pk__in=openshift_bodies).values_list(
                "pk", "current_revision__body"
            )
        )
        == openshift_bodies
    )
    assert Runbook.objects.count() == len(first.created) + len(second.created)
    assert Revision.objects.count() == Runbook.objects.count()
    shared = {Path(r.path).name for r in first.created} & {
        Path(r.path).name for r in second.created
    }
    assert len(shared) >= 20


@pytest.mark.django_db
def test_importing_each_corpus_collection_again_changes_nothing():
    import_directory(OPENSHIFT)
    import_directory(PROMETHEUS)
    revisions, entries, audit = (
        Revision.objects.count(),
        HistoryEntry.objects.count(),
        AuditEvent.objects.count(),
    )

    again = [import_directory(OPENSHIFT), import_directory(PROMETHEUS)]

    assert all(not (r.created or r.updated or r.conflicts or r.failed) for r in again)
    assert (Revision.objects.count(), HistoryEntry.objects.count(), AuditEvent.objects.count()) == (
        revisions,
        entries,
        audit,
    )


@pytest.mark.django_db
def test_same_named_file_in_a_clashing_collection_gets_the_collection_as_suffix():
    import_directory(OPENSHIFT)

    report = import_directory(PROMETHEUS)

    assert (
        report.result_for("general/TargetDown.md").slug == "targetdown-prometheus-operator-runbooks"
    )
    assert (
        Runbook.objects.get(slug="targetdown").import_source.path
        == "cluster-monitoring-operator/TargetDown.md"
    )


@pytest.mark.django_db
def test_collection_name_can_be_chosen(library):
    import_directory(library, collection="payments-docs")

    report = import_directory(library, collection="payments-docs")

    assert report.collection == "payments-docs" and not report.created


@pytest.mark.django_db
def test_unchanged_file_keeps_a_browser_edit(library, editor):
    import_directory(library)
    runbook = Runbook.objects.get(slug="orders-replica-lag")
    runbook.add_revision(
        author=editor, body="Edited in the browser.\n", change_summary="browser edit"
    )

    report = import_directory(library)

    assert report.result_for("database/replica-lag.md").status == "unchanged"
    runbook.refresh_from_db()
    assert runbook.current_revision.body == "Edited in the browser.\n"


def _change_file(
    library, rel="database/replica-lag.md", extra="\nA new paragraph from the repository.\n"
):
    path = library / rel
    path.write_text(path.read_text() + extra)


@pytest.mark.django_db
def test_file_and_browser_both_changed_is_reported_and_not_applied(library, editor):
    import_directory(library)
    runbook = Runbook.objects.get(slug="orders-replica-lag")
    runbook.add_revision(
        author=editor, body="Edited in the browser.\n", change_summary="browser edit"
    )
    _change_file(library)

    report = import_directory(library)

    result = report.result_for("database/replica-lag.md")
    assert result.status == "changed in both"
    runbook.refresh_from_db()
    assert runbook.current_revision.body == "Edited in the browser.\n"


@pytest.mark.django_db
def test_browser_edit_of_details_counts_as_changed_here(library, editor):
    import_directory(library)
    runbook = Runbook.objects.get(slug="orders-replica-lag")
    runbook.summary = "Summary set in the browser"
    runbook.update_details(by=editor, changed_fields=["summary"], labels={})
    _change_file(library)

    report = import_directory(library)

    assert report.result_for("database/replica-lag.md").status == "changed in both"
    assert Runbook.objects.get(pk=runbook.pk).summary == "Summary set in the browser"


@pytest.mark.django_db
def test_theirs_applies_the_file_over_the_browser_edit(library, editor):
    import_directory(library)
    runbook = Runbook.objects.get(slug="orders-replica-lag")
    runbook.add_revision(
        author=editor, body="Edited in the browser.\n", change_summary="browser edit"
    )
    _change_file(library)

    report = import_directory(library, resolve_all="theirs")

    assert report.result_for("database/replica-lag.md").status == "updated"
    runbook.refresh_from_db()
    assert "A new paragraph from the repository." in runbook.current_revision.body


@pytest.mark.django_db
def test_ours_keeps_the_browser_edit_and_the_next_import_is_unchanged(library, editor):
    import_directory(library)
    runbook = Runbook.objects.get(slug="orders-replica-lag")
    runbook.add_revision(
        author=editor, body="Edited in the browser.\n", change_summary="browser edit"
    )
    _change_file(library)

    kept = import_directory(library, resolve_all="ours")
    again = import_directory(library)

    assert kept.result_for("database/replica-lag.md").status == "unchanged"
    assert again.result_for("database/replica-lag.md").status == "unchanged"
    runbook.refresh_from_db()
    assert runbook.current_revision.body == "Edited in the browser.\n"


@pytest.mark.django_db
def test_changed_file_without_a_browser_edit_is_applied(library):
    import_directory(library)
    _change_file(library)

    report = import_directory(library)

    assert report.result_for("database/replica-lag.md").status == "updated"


@pytest.mark.django_db
def test_adding_a_same_named_file_elsewhere_leaves_the_first_runbook_alone(tmp_path):
    folder = tmp_path / "docs"
    _write(folder, "database/replica-lag.md", b"# Replica lag\n\nCheck the database replica.\n")
    import_directory(folder)
    first = Runbook.objects.get()
    _write(folder, "payments/replica-lag.md", b"# Replica lag\n\nCheck the payments replica.\n")

    report = import_directory(folder)

    assert report.result_for("database/replica-lag.md").status == "unchanged"
    assert report.result_for("payments/replica-lag.md").status == "created"
    assert Runbook.objects.count() == 2
    unchanged = Runbook.objects.get(pk=first.pk)
    assert (unchanged.slug, unchanged.revisions.count()) == (first.slug, 1)
    assert "database replica" in unchanged.current_revision.body


@pytest.mark.django_db
def test_a_slug_differing_only_in_case_is_not_reused(library, make_runbook):
    make_runbook(slug="Orders-Replica-Lag", title="Typed by hand")

    report = import_directory(library)

    result = report.result_for("database/replica-lag.md")
    assert result.slug == "orders-replica-lag-library"
    assert Runbook.objects.get(slug="Orders-Replica-Lag").title == "Typed by hand"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["con", "NUL", "new", "import", "preview", "lpt1"])
def test_files_named_like_reserved_words_get_a_usable_slug(tmp_path, name):
    _write(tmp_path / "docs", f"{name}.md", b"# Reserved\n\nText.\n")

    report = import_directory(tmp_path / "docs")

    result = report.result_for(f"{name}.md")
    assert (result.status, result.slug) == ("created", f"{name.lower()}-docs")


@pytest.mark.django_db
def test_dry_run_takes_no_locks_and_writes_nothing(library, monkeypatch):
    from django.db.models.query import QuerySet

    def refuse(*args, **kwargs):
        raise AssertionError("a dry run must not lock rows")

    monkeypatch.setattr(QuerySet, "select_for_update", refuse)
    import_directory(library, dry_run=True)

    assert Runbook.objects.count() == 0


@pytest.mark.django_db
def test_utf16_file_with_a_byte_order_mark_is_decoded(tmp_path):
    _write(tmp_path / "docs", "wide.md", "# Wide text\n\nCafé crème.\r\n".encode("utf-16"))

    report = import_directory(tmp_path / "docs")

    assert report.result_for("wide.md").status == "created"
    assert "Café crème.\n" in Runbook.objects.get().current_revision.body

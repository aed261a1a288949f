"""Zip upload (import) and zip download (export) in the browser."""

import io
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from runbooks.importing import archive as importer
from runbooks.models import ImportJob, Runbook

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "docs_library"
IMPORT_URL = reverse("runbooks:import")
EXPORT_URL = reverse("runbooks:export_zip")


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def fixture_zip() -> bytes:
    return make_zip(
        {
            f"docs/runbooks/{p.relative_to(FIXTURE).as_posix()}": p.read_bytes()
            for p in FIXTURE.rglob("*.md")
        }
    )


def upload(client, content: bytes, name: str = "runbooks.zip", **extra):
    return client.post(
        IMPORT_URL, {"archive": SimpleUploadedFile(name, content, "application/zip"), **extra}
    )


@pytest.fixture
def eager_tasks():
    """Run queued tasks in-process (the real worker is exercised by test_import_task_runs_in_a_real_worker)."""
    from fixit_runbooks.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def import_zip(editor_client, eager_tasks, django_capture_on_commit_callbacks):
    """Upload, let the queued task run, and return the job page the upload redirected to."""

    def run(content: bytes, client=None, **extra):
        client = client or editor_client
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, content, **extra)
        assert response.status_code == 302, response.content
        return client.get(response["Location"])

    return run


@pytest.mark.django_db
def test_editor_sees_the_upload_form(editor_client):
    response = editor_client.get(IMPORT_URL)

    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content


@pytest.mark.django_db
def test_viewer_cannot_import(viewer_client):
    assert viewer_client.get(IMPORT_URL).status_code == 403
    assert upload(viewer_client, fixture_zip()).status_code == 403
    assert Runbook.objects.count() == 0


@pytest.mark.django_db
def test_uploading_a_zip_imports_it_and_shows_the_report(import_zip, editor):
    response = import_zip(fixture_zip(), team="Payments")

    assert response.status_code == 200
    assert (
        b"4 created, 0 updated, 0 unchanged, 0 changed in both, 0 failed, 1 skipped"
        in response.content
    )
    assert b'href="/runbooks/orders-replica-lag/"' in response.content
    restore = Runbook.objects.get(slug="restore-backup")
    assert restore.team.name == "Payments"
    assert restore.current_revision.author == editor


@pytest.mark.django_db
def test_dry_run_upload_changes_nothing(import_zip):
    response = import_zip(fixture_zip(), dry_run="on")

    assert b"Dry run: 4 created" in response.content
    assert Runbook.objects.count() == 0


@pytest.mark.django_db
def test_bad_files_in_an_upload_are_listed_with_their_reason(import_zip):
    response = import_zip(make_zip({"Good.md": b"# Good\n\nText.\n", "Bad.md": b"caf\xe9\n"}))

    assert response.status_code == 200
    assert b"1 created, 0 updated, 0 unchanged, 0 changed in both, 1 failed" in response.content
    assert b"not UTF-8 text" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.md", b"points outside the archive (../)"),
        ("docs/../../evil.md", b"points outside the archive (../)"),
        ("/etc/evil.md", b"has an absolute path"),
        ("C:/evil.md", b"has an absolute path"),
        ("docs\\evil.md", b"contains a backslash"),
    ],
)
def test_zip_slip_names_are_refused(editor_client, name, message):
    response = upload(
        editor_client, make_zip({"Good.md": b"# Good\n\nText.\n", name: b"# Evil\n\nText.\n"})
    )

    assert response.status_code == 400
    assert message in response.content
    assert Runbook.objects.count() == 0


@pytest.mark.django_db
def test_zip_bomb_ratio_is_refused(editor_client):
    response = upload(editor_client, make_zip({"Bomb.md": b"# Bomb\n" + b"\0" * 5_000_000}))

    assert response.status_code == 400
    assert b"a zip bomb?" in response.content
    assert Runbook.objects.count() == 0


@pytest.mark.django_db
def test_archive_over_the_uncompressed_limit_is_refused(editor_client, settings):
    settings.IMPORT_MAX_ZIP_BYTES = 4096
    response = upload(
        editor_client,
        make_zip({"A.md": b"# A\n" + b"text " * 1000}, compression=zipfile.ZIP_STORED),
    )

    assert response.status_code == 400
    assert b"over the 4,096-byte limit" in response.content


@pytest.mark.django_db
def test_archive_with_too_many_entries_is_refused(editor_client, monkeypatch):
    monkeypatch.setattr(importer, "MAX_ZIP_MEMBERS", 3)

    response = upload(editor_client, make_zip({f"R{n}.md": b"# R\n\nText.\n" for n in range(4)}))

    assert response.status_code == 400
    assert b"4 entries, more than the 3 allowed" in response.content


@pytest.mark.django_db
def test_symlink_member_is_refused(editor_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link.md")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")

    response = upload(editor_client, buffer.getvalue())

    assert response.status_code == 400
    assert b"is a symbolic link" in response.content


@pytest.mark.django_db
def test_not_a_zip_is_refused(editor_client):
    response = upload(editor_client, b"# just markdown\n")

    assert response.status_code == 400
    assert b"not a readable .zip file" in response.content


@pytest.mark.django_db
def test_wrong_extension_is_refused(editor_client):
    response = upload(editor_client, fixture_zip(), name="runbooks.tar")

    assert response.status_code == 400
    assert b"Upload a .zip file." in response.content


@pytest.mark.django_db
def test_viewer_downloads_the_library_as_a_zip(
    viewer_client, make_runbook, django_assert_max_num_queries
):
    for n in range(5):
        make_runbook(title=f"Runbook {n}", alert_names=[f"Alert{n}Firing"])

    with django_assert_max_num_queries(12):
        response = viewer_client.get(EXPORT_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(Path(name).name for name in archive.namelist())
    assert names == ["README.md"] + [f"runbook-{n}.md" for n in range(5)]
    text = next(archive.read(n).decode() for n in archive.namelist() if n.endswith("runbook-3.md"))
    assert "alerts:\n- Alert3Firing\n" in text


@pytest.mark.django_db
def test_offline_bundle_zip_holds_html_pages(viewer_client, runbook):
    response = viewer_client.get(EXPORT_URL, {"format": "html"})

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(Path(name).name for name in archive.namelist()) == [
        "checkout-latency.html",
        "index.html",
    ]


@pytest.mark.django_db
def test_outsider_cannot_download(outsider_client):
    assert outsider_client.get(EXPORT_URL).status_code == 403


@pytest.mark.django_db
def test_library_page_links_import_for_editors_only(editor_client, viewer_client):
    assert IMPORT_URL.encode() in editor_client.get(reverse("runbooks:index")).content
    viewer_page = viewer_client.get(reverse("runbooks:index")).content
    assert IMPORT_URL.encode() not in viewer_page
    assert EXPORT_URL.encode() in viewer_page


# --- import jobs: progress, report, per-file choices -------------------------------


@pytest.mark.django_db
def test_upload_is_stored_and_queued_not_imported_in_the_request(
    editor_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(editor_client, fixture_zip())

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "runbooks:import_job", args=[job.pk]
    )
    assert (job.status, len(callbacks), Runbook.objects.count()) == ("queued", 1, 0)


@pytest.mark.django_db
def test_running_job_page_polls_its_progress_with_htmx(editor_client, editor):
    job = ImportJob.objects.create(
        created_by=editor,
        archive_name="a.zip",
        archive=b"",
        collection="a",
        status="running",
        files_done=3,
        files_total=12,
    )

    response = editor_client.get(
        reverse("runbooks:import_job", args=[job.pk]), HTTP_HX_REQUEST="true"
    )

    assert b"Importing: 3 of 12 files." in response.content
    assert b'hx-trigger="every 1s"' in response.content
    assert b"<html" not in response.content


@pytest.mark.django_db
def test_finished_job_page_stops_polling(import_zip):
    response = import_zip(fixture_zip())

    assert b'hx-trigger="every 1s"' not in response.content
    assert b"4 created" in response.content


@pytest.mark.django_db
def test_another_users_import_is_not_shown(editor, make_user, client):
    other = make_user("erin", "editor")
    job = ImportJob.objects.create(
        created_by=editor, archive_name="a.zip", archive=b"", collection="a"
    )
    client.force_login(other)

    assert client.get(reverse("runbooks:import_job", args=[job.pk])).status_code == 404


def _edited_zip() -> bytes:
    members = {
        f"runbooks/{p.relative_to(FIXTURE).as_posix()}": p.read_bytes()
        for p in FIXTURE.rglob("*.md")
    }
    members["runbooks/database/replica-lag.md"] += b"\nA paragraph added in the repository.\n"
    return make_zip(members)


@pytest.mark.django_db
def test_changed_in_both_offers_a_choice_per_file_and_applies_it(
    import_zip, editor_client, editor, django_capture_on_commit_callbacks
):
    import_zip(
        make_zip(
            {
                f"runbooks/{p.relative_to(FIXTURE).as_posix()}": p.read_bytes()
                for p in FIXTURE.rglob("*.md")
            }
        )
    )
    runbook = Runbook.objects.get(slug="orders-replica-lag")
    runbook.add_revision(
        author=editor, body="Edited in the browser.\n", change_summary="browser edit"
    )

    report_page = import_zip(_edited_zip())

    assert b"1 changed in both" in report_page.content
    assert b'name="choice:database/replica-lag.md" value="theirs"' in report_page.content
    runbook.refresh_from_db()
    assert runbook.current_revision.body == "Edited in the browser.\n"
    job = ImportJob.objects.latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            reverse("runbooks:import_resolve", args=[job.pk]),
            {"choice:database/replica-lag.md": "theirs"},
        )
    assert b"1 updated" in editor_client.get(response["Location"]).content
    runbook.refresh_from_db()
    assert "A paragraph added in the repository." in runbook.current_revision.body

"""Zip upload (import) and zip download (export) in the browser."""

import io
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from runbooks.importing import archive as importer
from runbooks.models import Runbook

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
    return make_zip({f"docs/runbooks/{p.relative_to(FIXTURE).as_posix()}": p.read_bytes() for p in FIXTURE.rglob("*.md")})


def upload(client, content: bytes, name: str = "runbooks.zip", **extra):
    return client.post(IMPORT_URL, {"archive": SimpleUploadedFile(name, content, "application/zip"), **extra})


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
def test_uploading_a_zip_imports_it_and_shows_the_report(editor_client, editor):
    response = upload(editor_client, fixture_zip(), team="Payments")

    assert response.status_code == 200
    assert b"4 created, 0 updated, 0 unchanged, 0 failed, 1 skipped" in response.content
    assert b'href="/runbooks/orders-replica-lag/"' in response.content
    restore = Runbook.objects.get(slug="restore-backup")
    assert restore.team.name == "Payments"
    assert restore.current_revision.author == editor


@pytest.mark.django_db
def test_dry_run_upload_changes_nothing(editor_client):
    response = upload(editor_client, fixture_zip(), dry_run="on")

    assert b"Dry run: 4 created" in response.content
    assert Runbook.objects.count() == 0


@pytest.mark.django_db
def test_bad_files_in_an_upload_are_listed_with_their_reason(editor_client):
    response = upload(editor_client, make_zip({"Good.md": b"# Good\n\nText.\n", "Bad.md": b"\xff\xfe"}))

    assert response.status_code == 200
    assert b"1 created, 0 updated, 0 unchanged, 1 failed" in response.content
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
    response = upload(editor_client, make_zip({"Good.md": b"# Good\n\nText.\n", name: b"# Evil\n\nText.\n"}))

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
    response = upload(editor_client, make_zip({"A.md": b"# A\n" + b"text " * 1000}, compression=zipfile.ZIP_STORED))

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
def test_viewer_downloads_the_library_as_a_zip(viewer_client, make_runbook, django_assert_max_num_queries):
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
    assert sorted(Path(name).name for name in archive.namelist()) == ["checkout-latency.html", "index.html"]


@pytest.mark.django_db
def test_outsider_cannot_download(outsider_client):
    assert outsider_client.get(EXPORT_URL).status_code == 403


@pytest.mark.django_db
def test_library_page_links_import_for_editors_only(editor_client, viewer_client):
    assert IMPORT_URL.encode() in editor_client.get(reverse("runbooks:index")).content
    viewer_page = viewer_client.get(reverse("runbooks:index")).content
    assert IMPORT_URL.encode() not in viewer_page
    assert EXPORT_URL.encode() in viewer_page

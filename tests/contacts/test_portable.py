"""contacts.yml beside the markdown export, and back on import."""

from pathlib import Path

import pytest

from contacts.models import Contact, EscalationStep
from runbooks.exporter import export_directory
from runbooks.importing import import_directory
from runbooks.models import AuditEvent, Runbook, Service, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(runbook):
    service = Service.objects.get(name="checkout-api")
    team = Team.objects.create(name="Payments")
    Contact.objects.create(
        service=service, role="primary", name="Checkout rota", phone="+44 20 1234", position=0
    )
    Contact.objects.create(
        service=service, role="vendor", name="Acme: support", email="help@acme.example", position=1
    )
    EscalationStep.objects.create(
        service=service, wait_minutes=0, who="Primary on-call", how="page", position=0
    )
    EscalationStep.objects.create(
        service=service, wait_minutes=15, who="Escalation manager", position=1
    )
    Contact.objects.create(team=team, role="manager", name="Ana", chat_handle="@ana", position=0)
    return service, team


def _wipe() -> None:
    Runbook.objects.update(current_revision=None)
    Runbook.objects.all().delete()
    Service.objects.all().delete()
    Team.objects.all().delete()


def test_export_writes_contacts_beside_the_runbooks(tmp_path: Path, contacts):
    export_directory(tmp_path / "out")
    text = (tmp_path / "out" / "contacts.yml").read_text()
    assert "checkout-api:" in text and "Acme: support" in text and "Payments:" in text


def test_no_contacts_no_file(tmp_path: Path, runbook):
    export_directory(tmp_path / "out")
    assert not (tmp_path / "out" / "contacts.yml").exists()


def test_contacts_round_trip_byte_for_byte(tmp_path: Path, contacts):
    export_directory(tmp_path / "first")
    _wipe()
    report = import_directory(tmp_path / "first")
    assert report.failed == []
    assert Contact.objects.filter(service__name="checkout-api").count() == 2
    assert list(EscalationStep.objects.values_list("wait_minutes", flat=True)) == [0, 15]
    export_directory(tmp_path / "second")
    assert (tmp_path / "second" / "contacts.yml").read_bytes() == (
        tmp_path / "first" / "contacts.yml"
    ).read_bytes()


def test_reimport_of_unchanged_contacts_writes_nothing(tmp_path: Path, contacts):
    export_directory(tmp_path / "out")
    before = AuditEvent.objects.filter(action="contacts.imported").count()
    report = import_directory(tmp_path / "out")
    assert report.result_for("contacts.yml").status == "unchanged"
    assert AuditEvent.objects.filter(action="contacts.imported").count() == before


def test_file_lists_replace_that_owners_contacts_with_audit(tmp_path: Path, contacts):
    export_directory(tmp_path / "out")
    path = tmp_path / "out" / "contacts.yml"
    path.write_text(path.read_text().replace("Checkout rota", "New rota"))
    report = import_directory(tmp_path / "out")
    assert report.result_for("contacts.yml").status == "updated"
    assert (
        Contact.objects.filter(name="New rota").exists()
        and not Contact.objects.filter(name="Checkout rota").exists()
    )
    assert AuditEvent.objects.filter(action="contacts.imported").count() == 1


def test_bad_contact_fails_the_file_and_writes_nothing(tmp_path: Path, contacts):
    export_directory(tmp_path / "out")
    path = tmp_path / "out" / "contacts.yml"
    path.write_text(
        path.read_text().replace("help@acme.example", "not an email").replace("Ana", "Bea")
    )
    report = import_directory(tmp_path / "out")
    result = report.result_for("contacts.yml")
    assert result.status == "failed" and "contact 2" in result.reason and "email" in result.reason
    assert not Contact.objects.filter(name="Bea").exists()


def test_malformed_yaml_fails_with_a_reason(tmp_path: Path, contacts):
    export_directory(tmp_path / "out")
    (tmp_path / "out" / "contacts.yml").write_text("services: [unclosed\n")
    result = import_directory(tmp_path / "out").result_for("contacts.yml")
    assert result.status == "failed" and "YAML" in result.reason


def test_dry_run_reports_without_writing(tmp_path: Path, contacts):
    export_directory(tmp_path / "out")
    Contact.objects.all().delete()
    report = import_directory(tmp_path / "out", dry_run=True)
    assert report.result_for("contacts.yml").status == "updated"
    assert not Contact.objects.exists()

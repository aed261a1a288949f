"""Who to call: edited in the browser by editors, shown on runbook and incident pages."""

from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client

from contacts.models import Contact, EscalationStep
from incidents.models import Incident
from runbooks.models import AuditEvent, Service


def formset_data(
    contacts: list[dict[str, str]], steps: list[dict[str, str]], initial: int = 0
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "contacts-TOTAL_FORMS": str(len(contacts)),
        "contacts-INITIAL_FORMS": str(initial),
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
    }
    for prefix, rows in (("contacts", contacts), ("steps", steps)):
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = value
    return data


PRIMARY = {
    "role": "primary",
    "name": "Payments on-call",
    "phone": "+44 20 7946 0018",
    "email": "payments-oncall@example.com",
    "chat_handle": "@payments-oncall",
    "paging_url": "https://pager.example.com/services/payments",
    "schedule_url": "https://pager.example.com/schedules/payments",
}
VENDOR = {
    "role": "vendor",
    "name": "Acme PSP support",
    "phone": "+1 555 0100",
    "email": "",
    "chat_handle": "",
}


@pytest.fixture
def service(runbook: Any) -> Service:
    return runbook.services.get()


def test_an_editor_records_contacts_and_an_escalation_path(
    editor_client: Client, service: Service
) -> None:
    data = formset_data(
        [PRIMARY, VENDOR],
        [
            {"wait_minutes": "0", "who": "Primary on-call", "how": "page"},
            {"wait_minutes": "15", "who": "Escalation manager"},
        ],
    )

    response = editor_client.post(f"/contacts/service/{service.pk}/edit/", data)

    assert response.status_code == 302
    assert list(Contact.objects.filter(service=service).values_list("name", "position")) == [
        ("Payments on-call", 0),
        ("Acme PSP support", 1),
    ]
    assert list(EscalationStep.objects.values_list("who", "wait_minutes")) == [
        ("Primary on-call", 0),
        ("Escalation manager", 15),
    ]
    assert AuditEvent.objects.filter(action="contacts.changed").exists()


def test_an_invalid_row_saves_nothing(editor_client: Client, service: Service) -> None:
    data = formset_data([PRIMARY, {**VENDOR, "email": "not-an-email"}], [])

    response = editor_client.post(f"/contacts/service/{service.pk}/edit/", data)

    assert response.status_code == 400
    assert not Contact.objects.exists()


def test_a_deleted_contact_goes(editor_client: Client, service: Service) -> None:
    contact = Contact.objects.create(service=service, **PRIMARY)
    data = formset_data([{**PRIMARY, "id": str(contact.pk), "DELETE": "on"}], [], initial=1)

    editor_client.post(f"/contacts/service/{service.pk}/edit/", data)

    assert not Contact.objects.exists()


def test_viewers_read_but_cannot_edit(viewer_client: Client, service: Service) -> None:
    assert viewer_client.get(f"/contacts/service/{service.pk}/").status_code == 200
    assert viewer_client.get(f"/contacts/service/{service.pk}/edit/").status_code == 403


def test_a_contact_belongs_to_exactly_one_service_or_team(service: Service, team: Any) -> None:
    with pytest.raises(IntegrityError):
        Contact.objects.create(service=service, team=team, name="Both")


def test_runbook_page_shows_its_services_contacts(
    viewer_client: Client, runbook: Any, service: Service
) -> None:
    viewer_client.get(runbook.get_absolute_url())
    Contact.objects.create(service=service, **PRIMARY)
    EscalationStep.objects.create(service=service, who="Escalation manager", wait_minutes=15)

    html = viewer_client.get(runbook.get_absolute_url()).content.decode()

    assert "Who to call" in html
    assert (
        "Payments on-call" not in html
    )  # written around the edit path, so the cached panel is kept


def test_runbook_page_shows_contacts_saved_in_the_browser(
    editor_client: Client,
    viewer_client: Client,
    runbook: Any,
    service: Service,
    django_capture_on_commit_callbacks: Any,
) -> None:
    viewer_client.get(runbook.get_absolute_url())
    data = formset_data([PRIMARY], [{"wait_minutes": "15", "who": "Escalation manager"}])
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(f"/contacts/service/{service.pk}/edit/", data)

    html = viewer_client.get(runbook.get_absolute_url()).content.decode()

    assert "Payments on-call" in html
    assert 'href="tel:+442079460018"' in html
    assert "After 15 min without an answer: <strong>Escalation manager</strong>" in html


def test_incident_page_shows_contacts_of_its_services_and_runbook_teams(
    editor_client: Client, viewer_client: Client, runbook: Any, team: Any, editor: Any
) -> None:
    runbook.team = team
    runbook.save(update_fields=["team"])
    incident = Incident.open_incident(by=editor, title="Checkout down")
    incident.attach_runbook(runbook, by=editor)
    editor_client.post(
        f"/contacts/team/{team.pk}/edit/", formset_data([{**VENDOR, "name": "Payments lead"}], [])
    )

    html = viewer_client.get(incident.get_absolute_url()).content.decode()

    assert "Payments lead" in html


@pytest.mark.django_db
def test_contacts_are_found_by_part_of_a_service_name(viewer_client: Client) -> None:
    Service.objects.create(name="checkout-api")
    Service.objects.create(name="search-indexer")
    response = viewer_client.get("/contacts/", {"q": "checkout"})
    assert response.status_code == 200
    assert b"checkout-api" in response.content
    assert b"search-indexer" not in response.content


@pytest.mark.django_db
def test_a_contact_search_with_no_match_says_so(viewer_client: Client) -> None:
    Service.objects.create(name="checkout-api")
    response = viewer_client.get("/contacts/", {"q": "payroll"})
    assert "No service matches “payroll”".encode() in response.content

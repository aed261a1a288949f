"""Runbook commands filled from an alert's labels: on the runbook page, via /alerts/<name>/ and from incidents."""

from typing import Any

from django.test import Client

from alerting.fill import AlertLabels, fill_commands, placeholders_in

from .conftest import alertmanager_alert, alertmanager_body

HTML = (
    '<p>Use {{pod}} here</p><div class="code-block"><button type="button" class="copy-button" data-copy="">Copy</button>'
    '<pre><code class="language-bash">kubectl -n {{namespace}} logs {{ pod }} -c {{container}}</code></pre></div>'
)


def test_values_are_filled_inside_code_and_highlighted() -> None:
    html = fill_commands(HTML, {"namespace": "shop", "pod": "api-7d9"})

    assert (
        'kubectl -n <mark class="alert-value" title="From the alert label namespace">shop</mark>'
        in html
    )
    assert '<mark class="alert-value" title="From the alert label pod">api-7d9</mark>' in html


def test_placeholders_outside_code_are_left_alone() -> None:
    assert "<p>Use {{pod}} here</p>" in fill_commands(HTML, {"pod": "api-7d9"})


def test_unfilled_placeholders_are_marked() -> None:
    html = fill_commands(HTML, {"pod": "api-7d9"})

    assert (
        '<mark class="alert-missing" title="No alert label container">{{container}}</mark>' in html
    )


def test_values_are_escaped_never_markup() -> None:
    html = fill_commands(HTML, {"pod": '<img src=x onerror="alert(1)">'})

    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_placeholders_in_lists_the_names_used_in_commands() -> None:
    assert placeholders_in(HTML) == ["container", "namespace", "pod"]


def test_labels_from_the_query_string_keep_only_label_shaped_names() -> None:
    labels = AlertLabels.from_pairs([("namespace", "shop"), ("bad-name", "x"), ("pod", "a" * 600)])

    assert list(labels.values) == ["namespace", "pod"]
    assert len(labels.values["pod"]) == 500


def test_runbook_page_fills_commands_from_the_query_string(
    viewer_client: Client, crashloop_runbook: Any
) -> None:
    response = viewer_client.get(
        crashloop_runbook.get_absolute_url(), {"namespace": "shop", "pod": "api-7d9"}
    )

    html = response.content.decode()
    assert "kubectl -n <mark" in html and ">shop</mark> describe pod <mark" in html
    assert "Opened from an alert." in html
    assert 'class="alert-missing">{{container}}</code>' in html


def test_runbook_page_without_labels_is_unchanged(
    viewer_client: Client, crashloop_runbook: Any
) -> None:
    viewer_client.get(crashloop_runbook.get_absolute_url(), {"namespace": "shop"})

    html = viewer_client.get(crashloop_runbook.get_absolute_url()).content.decode()

    assert "kubectl -n {{namespace}} describe pod {{ pod }}" in html
    assert "Opened from an alert." not in html


def test_alert_lookup_carries_the_labels_through_the_redirect(
    viewer_client: Client, crashloop_runbook: Any
) -> None:
    response = viewer_client.get("/alerts/KubePodCrashLooping/?namespace=shop&pod=api-7d9")

    assert response.status_code == 302
    assert (
        response["Location"] == f"{crashloop_runbook.get_absolute_url()}?namespace=shop&pod=api-7d9"
    )


def test_incident_page_links_the_runbook_with_the_alert_labels(
    token: str, viewer_client: Client, crashloop_runbook: Any
) -> None:
    answer = Client().post(
        "/hooks/alertmanager/",
        data=alertmanager_body(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    number = answer.json()["incidents"][0]["number"]

    html = viewer_client.get(f"/incidents/{number}/").content.decode()

    assert (
        f'href="{crashloop_runbook.get_absolute_url()}?alertname=KubePodCrashLooping&amp;namespace=shop'
        in html
    )
    assert "1 of 1 alert firing" in html


def test_incident_page_shows_when_every_alert_resolved(token: str, viewer_client: Client) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.post("/hooks/alertmanager/", data=alertmanager_body(), content_type="application/json")
    resolved = alertmanager_body(alertmanager_alert(status="resolved"))
    number = client.post(
        "/hooks/alertmanager/", data=resolved, content_type="application/json"
    ).json()["incidents"][0]["number"]

    html = viewer_client.get(f"/incidents/{number}/").content.decode()

    assert "All 1 alert of the group has resolved" in html


def test_alert_choice_page_carries_the_labels_to_each_runbook(
    viewer_client: Client, crashloop_runbook: Any, make_runbook: Any
) -> None:
    other = make_runbook(title="Crash looping on GKE", alert_names=["KubePodCrashLooping"])

    html = viewer_client.get("/alerts/KubePodCrashLooping/?namespace=shop").content.decode()

    assert f'href="{other.get_absolute_url()}?namespace=shop"' in html


def test_incident_checklist_fills_commands_from_the_alert(
    token: str, viewer_client: Client, crashloop_runbook: Any
) -> None:
    answer = Client().post(
        "/hooks/alertmanager/",
        data=alertmanager_body(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    number = answer.json()["incidents"][0]["number"]

    html = viewer_client.get(
        f"/incidents/{number}/runbooks/{crashloop_runbook.slug}/"
    ).content.decode()

    assert "kubectl -n <mark" in html and ">shop</mark> describe pod <mark" in html
    assert "Opened from an alert." in html


def test_checklist_of_a_hand_declared_incident_keeps_placeholders(
    editor: Any, viewer_client: Client, crashloop_runbook: Any
) -> None:
    from incidents.models import Incident

    incident = Incident.open_incident(by=editor, title="By hand")
    incident.attach_runbook(crashloop_runbook, by=editor)

    html = viewer_client.get(
        f"/incidents/{incident.number}/runbooks/{crashloop_runbook.slug}/"
    ).content.decode()

    assert "kubectl -n {{namespace}} describe pod {{ pod }}" in html
    assert "Opened from an alert." not in html


def test_label_values_in_checklist_commands_are_escaped() -> None:
    from alerting.fill import fill_text

    html = fill_text("echo {{pod}} <b>", {"pod": "<script>x</script>"})

    assert (
        "&lt;script&gt;x&lt;/script&gt;" in html and "&lt;b&gt;" in html and "<script>" not in html
    )

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SEARCH = "/search/"


def test_search_page_lists_ranked_hits_with_badges(viewer_client, library):
    response = viewer_client.get(SEARCH, {"q": "certificate"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Certificate expiring soon" in html
    assert "<mark>" in html
    assert "review-current" in html and "reviewed" in html
    assert "severity-p0" in html


def test_filters_are_kept_in_the_share_link(viewer_client, library):
    response = viewer_client.get(SEARCH, {"q": "symptoms", "severity": "P2", "go": "1"})
    assert response.status_code == 302
    response = viewer_client.get(SEARCH, {"q": "checkout or disk", "severity": "P2"})
    assert "Node disk almost full" in response.content.decode()
    assert "Checkout latency" not in response.content.decode()
    assert "q=checkout+or+disk&amp;severity=P2" in response.content.decode()


def test_invalid_filter_is_ignored_and_reported(viewer_client, library):
    response = viewer_client.get(SEARCH, {"q": "certificate", "severity": "P9"})
    assert response.status_code == 200
    assert "Certificate expiring soon" in response.content.decode()
    assert "Ignored: severity" in response.content.decode()


def test_enter_in_the_header_box_opens_the_top_hit(viewer_client, library):
    response = viewer_client.get(SEARCH, {"q": "checkout latency", "go": "1"})
    assert response.status_code == 302
    assert response["Location"] == library["latency"].get_absolute_url()


def test_enter_without_a_full_match_shows_the_results_page(viewer_client, library):
    response = viewer_client.get(SEARCH, {"q": "zzzqqq", "go": "1"})
    assert response.status_code == 200


def test_htmx_header_box_gets_the_dropdown_partial(viewer_client, library):
    response = viewer_client.get(
        SEARCH, {"q": "cert"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="search-dropdown"
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "data-hit" in html and "Certificate expiring soon" in html


def test_htmx_search_page_gets_the_results_partial(viewer_client, library):
    response = viewer_client.get(
        SEARCH, {"q": "cert"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="search-results"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="search-results"')


def test_misspelling_shows_the_correction(viewer_client, library):
    html = viewer_client.get(SEARCH, {"q": "certficate"}).content.decode()
    assert "Showing results for" in html and "Certificate expiring soon" in html


@pytest.mark.parametrize(
    "q",
    ["", "x" * 10_000, "!!!", '"unbalanced', "NEAR(", '*"', "AND OR", "col:term", "') OR 1=1 --"],
)
def test_bad_queries_render_a_normal_page(viewer_client, library, q):
    assert viewer_client.get(SEARCH, {"q": q}).status_code == 200


def test_search_query_count_does_not_grow_with_the_library(
    viewer_client, make_runbook, django_assert_max_num_queries
):
    for n in range(3):
        make_runbook(title=f"Disk full {n}", alert_names=[f"DiskFull{n}"], tags=["disk"])
    viewer_client.get(SEARCH, {"q": "disk"})
    # Session, user, groups; candidates, places with the uses (three statements on SQLite),
    # rows with vectors and text;
    # the filter form's 3.
    with django_assert_max_num_queries(13) as small:
        viewer_client.get(SEARCH, {"q": "disk"})
    for n in range(3, 25):
        make_runbook(title=f"Disk full {n}", alert_names=[f"DiskFull{n}"], tags=["disk"])
    with django_assert_max_num_queries(len(small)):
        viewer_client.get(SEARCH, {"q": "disk"})


def test_misspelt_search_query_count_is_bounded(
    viewer_client, library, django_assert_max_num_queries
):
    with django_assert_max_num_queries(17):
        viewer_client.get(SEARCH, {"q": "certficate expirng handshak"})


def test_outsider_without_role_is_refused(outsider_client, library):
    assert outsider_client.get(SEARCH, {"q": "disk"}).status_code == 403


def test_anonymous_is_sent_to_login(client, library):
    response = client.get(SEARCH, {"q": "disk"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_every_page_has_the_live_search_box(viewer_client, library):
    html = viewer_client.get(reverse("runbooks:index")).content.decode()
    assert 'hx-target="#search-dropdown"' in html and "data-search-input" in html
    assert 'href="/alerts/"' in html


# --- alert lookup ------------------------------------------------------------


def test_alert_name_redirects_to_its_runbook(viewer_client, library):
    response = viewer_client.get("/alerts/CheckoutHighLatency/")
    assert response.status_code == 302
    assert response["Location"] == library["latency"].get_absolute_url()


def test_alert_lookup_ignores_case(viewer_client, library):
    response = viewer_client.get("/alerts/checkouthighlatency/")
    assert response["Location"] == library["latency"].get_absolute_url()


def test_alert_lookup_drops_nul_bytes_from_the_name(viewer_client, library):
    response = viewer_client.get("/alerts/Checkout%00HighLatency/")
    assert response["Location"] == library["latency"].get_absolute_url()


def test_alert_lookup_of_only_a_nul_byte_is_a_normal_page(viewer_client, library):
    assert viewer_client.get("/alerts/%00/").status_code == 200


def test_alert_with_several_runbooks_offers_a_choice(viewer_client, library, make_runbook):
    make_runbook(title="Checkout latency (EU)", alert_names=["CheckoutHighLatency"])
    response = viewer_client.get("/alerts/CheckoutHighLatency/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Checkout latency (EU)" in html and library["latency"].get_absolute_url() in html


def test_unknown_alert_shows_search_and_a_prefilled_create_button(editor_client, library):
    response = editor_client.get("/alerts/CertificateExpiry/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Create runbook for this alert" in html
    assert (
        "/runbooks/new/?kind=incident&amp;alert=CertificateExpiry&amp;title=CertificateExpiry"
        in html
    )
    assert "Certificate expiring soon" in html


def test_unknown_alert_page_finds_runbooks_for_its_words(viewer_client, library):
    html = viewer_client.get("/alerts/NodeDiskAlmostFullEU/").content.decode()
    assert "Node disk almost full" in html


def test_viewer_sees_no_create_button_for_unknown_alert(viewer_client, library):
    html = viewer_client.get("/alerts/SomethingElse/").content.decode()
    assert "Create runbook for this alert" not in html


def test_coverage_lists_alerts_and_incident_runbooks_without_alerts(
    viewer_client, library, make_runbook
):
    make_runbook(title="Mystery outage")
    make_runbook(title="Rotate keys", kind="procedure")
    response = viewer_client.get("/alerts/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "NodeFilesystemAlmostOutOfSpace" in html and "Node disk almost full" in html
    gaps = html.split('id="gaps"')[1]
    assert "Mystery outage" in gaps and "Rotate keys" not in gaps


def test_coverage_query_count_is_constant(
    viewer_client, make_runbook, django_assert_max_num_queries
):
    for n in range(3):
        make_runbook(title=f"Outage {n}", alert_names=[f"Outage{n}"])
    with django_assert_max_num_queries(10) as small:
        viewer_client.get("/alerts/")
    for n in range(3, 20):
        make_runbook(title=f"Outage {n}", alert_names=[f"Outage{n}"] if n % 2 else [])
    with django_assert_max_num_queries(len(small)):
        viewer_client.get("/alerts/")

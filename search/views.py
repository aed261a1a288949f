from itertools import groupby
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from runbooks.models import AlertName, Kind, Runbook
from runbooks.request_types import HtmxHttpRequest
from runbooks.roles import EDITOR, VIEWER, has_role, role_required

from .auth import api_role_required, json_error
from .engine import DEFAULT_LIMIT, search
from .forms import SearchForm
from .queries import split_camel

DROPDOWN_LIMIT = 8
COVERAGE_PAGE_SIZE = 200
GAPS_SHOWN = 500


@role_required(VIEWER)
@require_GET
def search_page(request: HtmxHttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    form.is_valid()  # invalid filters are dropped and shown beside the form
    q, filters = form.query(), form.filters()
    dropdown = bool(request.htmx) and request.htmx.target == "search-dropdown"
    result = (
        search(q, filters, limit=DROPDOWN_LIMIT if dropdown else DEFAULT_LIMIT)
        if q or filters.any()
        else None
    )
    # The header box submits go=1: Enter opens the top hit, if it matched every word.
    if (
        request.GET.get("go")
        and result is not None
        and result.top is not None
        and result.top.full_match
    ):
        return redirect(result.top.url)
    context = {
        "form": form,
        "q": q,
        "result": result,
        "share_query": _share_query(request),
        "incident_number": _attach_target(request),
    }
    if dropdown:
        return render(request, "search/search.html#dropdown", context)
    if request.htmx:
        return render(request, "search/search.html#results", context)
    return render(request, "search/search.html", context)


def _attach_target(request: HttpRequest) -> str:
    """`?incident=INC-…` from an open incident's page: each hit gets an attach button carrying the query."""
    from incidents.models import Incident

    number = request.GET.get("incident", "")[:20]
    if not number or not has_role(request.user, EDITOR):
        return ""
    incident = Incident.objects.filter(number=number).only("status").first()
    return number if incident is not None and incident.is_open else ""


def _share_query(request: HttpRequest) -> str:
    params = {k: v for k, v in request.GET.items() if k not in ("go", "limit") and v}
    return urlencode(params)


@api_role_required(VIEWER)
def api_search(request: HttpRequest) -> JsonResponse:
    form = SearchForm(request.GET)
    if not form.is_valid():
        return json_error("Invalid parameters.", 400, fields=form.errors.get_json_data())
    q, filters = form.query(), form.filters()
    if not q and not filters.any():
        return json_error("Give a query (?q=…) or at least one filter.", 400)
    result = search(q, filters, limit=form.cleaned_data.get("limit") or DEFAULT_LIMIT)
    return JsonResponse(result.as_json())


@role_required(VIEWER)
@require_GET
def alert_lookup(request: HttpRequest, alert_name: str) -> HttpResponse:
    """Alertmanager's runbook_url lands here: one runbook → go there; several → choose; none → search."""
    # PostgreSQL refuses NUL in text parameters; no alert name contains one.
    name = alert_name.replace("\x00", "").strip()[:200]
    runbooks = list(
        Runbook.objects.visible_to(request.user).active().with_alert(name).select_related("owner", "team").order_by("title")
    )
    if len(runbooks) == 1:
        # Alert labels in the query string travel on: the runbook fills its commands with them.
        query = request.GET.urlencode()
        return redirect(runbooks[0].get_absolute_url() + (f"?{query}" if query else ""))
    if runbooks:
        return render(
            request, "search/alert_choice.html", {"alert_name": name, "runbooks": runbooks}
        )
    # The name as one word or as its camel-case words: "KubePodCrashLoopingEU"
    # has no exact match, but "kube pod crash looping" finds the neighbours.
    result = search(f"{name} or {split_camel(name)}")
    result.query = name
    create_url = (
        reverse("runbooks:create")
        + "?"
        + urlencode({"kind": Kind.INCIDENT, "alert": name, "title": name})
    )
    context = {
        "form": SearchForm({"q": name}),
        "q": name,
        "result": result,
        "missing_alert": name,
        "create_url": create_url,
        "share_query": urlencode({"q": name}),
    }
    return render(request, "search/search.html", context)


@role_required(VIEWER)
@require_GET
def alert_coverage(request: HttpRequest) -> HttpResponse:
    rows = AlertName.objects.order_by("name_lower", "runbook__title").values_list(
        "name", "name_lower", "runbook__slug", "runbook__title", "runbook__severity"
    )
    alerts = [
        (group[0][0], [{"slug": r[2], "title": r[3], "severity": r[4]} for r in group])
        for group in (list(g) for _, g in groupby(rows, key=lambda r: r[1]))
    ]
    page = Paginator(alerts, COVERAGE_PAGE_SIZE).get_page(request.GET.get("page"))
    gaps = Runbook.objects.filter(kind=Kind.INCIDENT, alert_names__isnull=True).select_related(
        "owner", "team"
    )
    context = {
        "page": page,
        "alert_count": len(alerts),
        "shared": sum(1 for _, runbooks in alerts if len(runbooks) > 1),
        "gaps": gaps.order_by("title")[:GAPS_SHOWN],
        "gap_count": gaps.count(),
        "gaps_shown": GAPS_SHOWN,
    }
    return render(request, "search/coverage.html", context)

"""Who to call: an index of services and teams, a page each, and the editor's form."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from runbooks.models import Service, Team
from runbooks.roles import EDITOR, VIEWER, role_required

from .forms import formsets
from .models import Contact, EscalationStep
from .services import save_contacts

KINDS = {"service": Service, "team": Team}


def _owner(kind: str, pk: int) -> Service | Team:
    model = KINDS.get(kind)
    if model is None:
        raise Http404("Contacts belong to a service or a team.")
    return cast(Service | Team, get_object_or_404(model, pk=pk))


def _rows(kind: str, owner: Service | Team) -> tuple[object, object]:
    return Contact.objects.filter(**{kind: owner}), EscalationStep.objects.filter(**{kind: owner})


@role_required(VIEWER)
def index(request: HttpRequest) -> HttpResponse:
    # A name, or part of one: "checkout" finds checkout-api and the Checkout team.
    query = " ".join(request.GET.get("q", "").split())[:100]
    services = Service.objects.annotate(n=Count("contacts", distinct=True)).order_by("name")
    teams = Team.objects.annotate(n=Count("contacts", distinct=True)).order_by("name")
    if query:
        services = services.filter(name__icontains=query)
        teams = teams.filter(name__icontains=query)
    return render(request, "contacts/index.html", {"services": services, "teams": teams, "query": query})


@role_required(VIEWER)
def detail(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    owner = _owner(kind, pk)
    contacts, steps = _rows(kind, owner)
    context = {"owner": owner, "kind": kind, "contacts": contacts, "steps": steps}
    return render(request, "contacts/detail.html", context)


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    owner = _owner(kind, pk)
    contacts, steps = _rows(kind, owner)
    contact_forms, step_forms = formsets(request.POST or None, contacts, steps)  # type: ignore[arg-type]
    if request.method == "POST" and contact_forms.is_valid() and step_forms.is_valid():
        save_contacts(owner, by=request.user, contacts=contact_forms, steps=step_forms)
        messages.success(request, f"Saved who to call for {owner}.")
        return redirect(reverse("contacts:detail", args=[kind, owner.pk]))
    status = 400 if request.method == "POST" else 200
    context = {
        "owner": owner,
        "kind": kind,
        "contact_forms": contact_forms,
        "step_forms": step_forms,
    }
    return render(request, "contacts/edit.html", context, status=status)

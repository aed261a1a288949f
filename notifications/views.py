"""Channel pages: list, create (the signing secret shown once), edit, delivery log, pause/resume/test/delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from incidents.communications import status_updates
from incidents.models import Incident, TimelineKind
from runbooks.models import AuditEvent, Runbook, Service
from runbooks.roles import EDITOR, VIEWER, role_required

from . import services, watching
from .forms import ChannelEditForm, ChannelForm
from .models import Channel, ChannelKind

DELIVERIES_PER_PAGE = 50


@role_required(EDITOR)
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = Channel.objects.select_related("team", "owner")
    return render(request, "notifications/list.html", {"channels": channels})


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        channel = form.save(commit=False)
        channel.owner = request.user
        secret = Channel.new_secret() if channel.kind == ChannelKind.WEBHOOK else ""
        channel.signing_secret = secret
        channel.save()
        AuditEvent.record(
            request.user,
            "channel.created",
            channel,
            {"kind": channel.kind, "events": channel.events},
        )
        # The secret is on this one response only; the page says so.
        return render(
            request,
            "notifications/detail.html",
            _detail_context(request, channel, new_secret=secret),
        )
    status = 400 if form.is_bound else 200
    return render(
        request, "notifications/form.html", {"form": form, "channel": None}, status=status
    )


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    form = ChannelEditForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        form.save()
        AuditEvent.record(request.user, "channel.changed", channel, {"fields": form.changed_data})
        messages.success(request, f"Saved “{channel.name}”.")
        return redirect(channel)
    status = 400 if form.is_bound else 200
    return render(
        request, "notifications/form.html", {"form": form, "channel": channel}, status=status
    )


@role_required(EDITOR)
def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel.objects.select_related("team", "owner"), pk=pk)
    return render(request, "notifications/detail.html", _detail_context(request, channel))


def _detail_context(
    request: HttpRequest, channel: Channel, new_secret: str = ""
) -> dict[str, object]:
    page = Paginator(channel.deliveries.all(), DELIVERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return {
        "channel": channel,
        "page": page,
        "deliveries": page.object_list,
        "new_secret": new_secret,
    }


@role_required(EDITOR)
@require_POST
def channel_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    if action == "pause":
        services.pause(channel)
        messages.success(request, f"Paused “{channel.name}”.")
    elif action == "resume":
        services.resume(channel)
        messages.success(
            request, f"Resumed “{channel.name}”; its failure count starts again from zero."
        )
    elif action == "test":
        if channel.is_paused:
            messages.error(request, "Resume the channel before sending a test.")
        else:
            services.send_test(channel, by=request.user)
            messages.success(request, "Test message queued; its delivery shows below.")
    elif action == "delete":
        AuditEvent.record(request.user, "channel.deleted", channel, {"name": channel.name})
        channel.delete()
        messages.success(request, f"Deleted “{channel.name}”.")
        return redirect("notifications:list")
    else:
        messages.error(request, f"“{action}” is not something a channel can do.")
        return redirect(channel)
    AuditEvent.record(request.user, f"channel.{action}", channel)
    return redirect(channel)


@role_required(VIEWER)
@require_POST
def watch_runbook(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook.objects.visible_to(request.user), slug=slug)
    watching_now = watching.toggle(request.user, runbook=runbook)
    messages.success(
        request,
        f"You watch “{runbook.title}”: changes and reviews come in an email digest."
        if watching_now
        else f"You no longer watch “{runbook.title}”.",
    )
    return redirect(runbook)


@role_required(VIEWER)
@require_POST
def watch_service(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    watching_now = watching.toggle(request.user, service=service)
    messages.success(
        request,
        f"You watch every runbook of {service}."
        if watching_now
        else f"You no longer watch {service}.",
    )
    return redirect("contacts:detail", "service", service.pk)


@role_required(EDITOR)
@require_POST
def send_status_update(request: HttpRequest, number: str, key: str) -> HttpResponse:
    """Post one of the incident's status-update messages to its timeline; its channels get it."""
    incident = get_object_or_404(Incident, number=number)
    updates = {u.key: u for u in status_updates(incident, list(incident.services.all()))}
    update = updates.get(key)
    if update is None:
        messages.error(request, f"“{key}” is not one of the status updates.")
        return redirect(incident)
    incident.add_note(by=request.user, text=update.text, kind=TimelineKind.COMMUNICATION)
    messages.success(
        request, f"“{update.label}” posted to the timeline and sent to the incident's channels."
    )
    return redirect(incident)

"""Read Alertmanager (version 4) and Grafana alerting webhook bodies into one shape.

Both tools send the same group notification: a `groupKey`, a status and a list
of alerts with labels, annotations and times. Anything that does not fit is
refused with a message that names the field, so a misconfigured receiver shows
its operator what is wrong instead of a bare 400.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

FIRING, RESOLVED = "firing", "resolved"
STATUSES = (FIRING, RESOLVED)
MAX_ALERTS = 1000
MAX_LABELS = 100
MAX_VALUE_LENGTH = 2000
MAX_GROUP_KEY_LENGTH = 4000
# Alertmanager's "no end yet" value; Go's zero time.
ZERO_TIME_PREFIX = "0001-01-01"
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Go writes nanoseconds; Python reads at most microseconds.
_FRACTION = re.compile(r"(\.\d{6})\d+")


class MalformedNotification(ValueError):
    """The body is not a notification this endpoint understands; the message says why."""


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    generator_url: str

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


@dataclass(frozen=True)
class Notification:
    source: str
    group_key: str
    status: str
    receiver: str
    external_url: str
    alerts: list[Alert]
    group_labels: dict[str, str] = field(default_factory=dict)
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)

    @property
    def key_hash(self) -> str:
        return hashlib.sha256(self.group_key.encode()).hexdigest()

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == FIRING]

    @property
    def alertnames(self) -> list[str]:
        return sorted({a.alertname for a in self.alerts if a.alertname})


def decode_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedNotification(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise MalformedNotification("The body must be a JSON object.")
    return data


def parse_alertmanager(data: dict[str, Any]) -> Notification:
    if str(data.get("version", "")) != "4":
        raise MalformedNotification(
            f"Only Alertmanager webhook version 4 is understood; this body says {data.get('version')!r}."
        )
    return _parse(data, source="alertmanager")


def parse_grafana(data: dict[str, Any]) -> Notification:
    # Grafana's unified alerting writes version "1"; its legacy notifier had no groupKey at all.
    if "groupKey" not in data:
        raise MalformedNotification(
            "This is not a Grafana alerting notification: “groupKey” is missing (legacy dashboard alerts are not supported)."
        )
    return _parse(data, source="grafana")


def _parse(data: dict[str, Any], *, source: str) -> Notification:
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key.strip():
        raise MalformedNotification("“groupKey” must be a non-empty string.")
    if len(group_key) > MAX_GROUP_KEY_LENGTH:
        raise MalformedNotification(f"“groupKey” is longer than {MAX_GROUP_KEY_LENGTH} characters.")
    status = _status(data.get("status"), "status")
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise MalformedNotification("“alerts” must be a non-empty list.")
    if len(raw_alerts) > MAX_ALERTS:
        raise MalformedNotification(
            f"At most {MAX_ALERTS} alerts per notification; this one has {len(raw_alerts)}."
        )
    alerts = [_alert(item, i) for i, item in enumerate(raw_alerts)]
    return Notification(
        source=source,
        group_key=group_key,
        status=status,
        receiver=_text(data.get("receiver", ""), "receiver")[:200],
        external_url=_text(data.get("externalURL", ""), "externalURL")[:500],
        alerts=alerts,
        group_labels=_mapping(data.get("groupLabels"), "groupLabels"),
        common_labels=_mapping(data.get("commonLabels"), "commonLabels"),
        common_annotations=_mapping(data.get("commonAnnotations"), "commonAnnotations"),
    )


def _alert(item: Any, index: int) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(item, dict):
        raise MalformedNotification(f"“{where}” must be an object.")
    labels = _mapping(item.get("labels"), f"{where}.labels", required=True)
    if not labels.get("alertname"):
        raise MalformedNotification(f"“{where}.labels” has no “alertname”.")
    fingerprint = item.get("fingerprint") or ""
    if not isinstance(fingerprint, str) or len(fingerprint) > 64:
        raise MalformedNotification(
            f"“{where}.fingerprint” must be a string of at most 64 characters."
        )
    if not fingerprint:
        # Older Alertmanagers send no fingerprint; the label set identifies the alert just as well.
        fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    return Alert(
        fingerprint=fingerprint,
        status=_status(item.get("status"), f"{where}.status"),
        labels=labels,
        annotations=_mapping(item.get("annotations"), f"{where}.annotations"),
        starts_at=_time(item.get("startsAt"), f"{where}.startsAt"),
        ends_at=_time(item.get("endsAt"), f"{where}.endsAt"),
        generator_url=_text(item.get("generatorURL", ""), f"{where}.generatorURL")[:1000],
    )


def _status(value: Any, where: str) -> str:
    if value not in STATUSES:
        raise MalformedNotification(f"“{where}” must be “firing” or “resolved”, not {value!r}.")
    return str(value)


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedNotification(f"“{where}” must be a string.")
    return value.replace("\x00", "")


def _mapping(value: Any, where: str, *, required: bool = False) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise MalformedNotification(f"“{where}” must be an object of strings.")
    if len(value) > MAX_LABELS:
        raise MalformedNotification(f"“{where}” has more than {MAX_LABELS} entries.")
    result = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise MalformedNotification(f"“{where}.{key}” must be a string.")
        # PostgreSQL refuses NUL in text; no real label carries one.
        result[key.replace("\x00", "")[:200]] = item.replace("\x00", "")[:MAX_VALUE_LENGTH]
    return result


def _time(value: Any, where: str) -> dt.datetime | None:
    if value in (None, "") or (isinstance(value, str) and value.startswith(ZERO_TIME_PREFIX)):
        return None
    if not isinstance(value, str):
        raise MalformedNotification(f"“{where}” must be an RFC 3339 time.")
    try:
        moment = dt.datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        raise MalformedNotification(f"“{where}” is not an RFC 3339 time: {value[:40]!r}.") from None
    if moment.tzinfo is None:
        raise MalformedNotification(f"“{where}” has no time zone.")
    return moment

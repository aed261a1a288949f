"""The runbook shapes of the source libraries: sections per kind, and templates.

A required section may be satisfied by any of several heading words
("Rollback" or "Escalation"), matched case-insensitively against the headings
of the markdown body, as its outline (runbooks.outline) reads them.
"""

from dataclasses import dataclass

from .outline import outline


@dataclass(frozen=True)
class RequiredSection:
    label: str
    keywords: tuple[str, ...]

    def is_present(self, headings_lower: list[str]) -> bool:
        return any(word in heading for heading in headings_lower for word in self.keywords)


REQUIRED_SECTIONS: dict[str, tuple[RequiredSection, ...]] = {
    "incident": (
        RequiredSection("Symptoms", ("symptom", "meaning")),
        RequiredSection("Diagnosis", ("diagnos",)),
        RequiredSection("Resolution", ("resolution", "mitigation", "remediation")),
        RequiredSection("Verification", ("verif",)),
        RequiredSection("Rollback or escalation", ("rollback", "roll back", "escalat")),
    ),
    "procedure": (
        RequiredSection("Prerequisites", ("prerequisite", "before you start")),
        RequiredSection("Procedure", ("procedure", "steps")),
        RequiredSection("Verification", ("verif",)),
    ),
    "guardrail": (
        RequiredSection("Scope & purpose", ("scope", "purpose")),
        RequiredSection("Execution steps", ("execution", "steps")),
        RequiredSection("Verification", ("verif", "observability")),
        RequiredSection("Rollback", ("rollback", "roll back", "contingency")),
    ),
    "service": (
        RequiredSection("Overview", ("overview",)),
        RequiredSection("Health checks", ("health",)),
        RequiredSection("Deployment", ("deploy",)),
        RequiredSection("Troubleshooting", ("troubleshoot",)),
        RequiredSection("Emergency contacts", ("contact", "escalat")),
    ),
    "postmortem": (
        RequiredSection("Timeline", ("timeline",)),
        RequiredSection("Impact", ("impact",)),
        RequiredSection("Root cause", ("root cause",)),
        RequiredSection("Corrective actions", ("corrective", "action item", "prevention")),
    ),
    "break_glass": (
        RequiredSection("Who may invoke it", ("who may", "authori", "eligib")),
        RequiredSection("Granting access", ("grant",)),
        RequiredSection("Duration", ("duration", "how long", "expir")),
        RequiredSection("Logging", ("logging", "audit")),
        RequiredSection("Revocation", ("revo",)),
        RequiredSection("Notifying security", ("notify", "security")),
    ),
    "rollback": (
        RequiredSection("Trigger", ("trigger", "when to roll back")),
        RequiredSection("Pre-checks", ("pre-check", "precheck", "before you start")),
        RequiredSection("Steps", ("steps", "procedure")),
        RequiredSection("Verification", ("verif",)),
        RequiredSection("Communication", ("communicat",)),
    ),
}


def missing_sections(kind: str, headings: list[str]) -> list[str]:
    lowered = [heading.lower() for heading in headings]
    return [s.label for s in REQUIRED_SECTIONS.get(kind, ()) if not s.is_present(lowered)]


def missing_sections_in(kind: str, text: str) -> list[str]:
    """The required sections a markdown body lacks, read from its outline (runbooks.outline)."""
    if kind not in REQUIRED_SECTIONS:
        return []
    return missing_sections(kind, outline(text).headings)


TEMPLATES: dict[str, str] = {
    "incident": """## Symptoms

- What the on-call engineer sees first (alert, error message, user report).

## Impact

- **Severity:** P2
- **Affected users:**
- **Business impact:**

## Detection

- **Alert name:**
- **Dashboard:**
- **Log patterns:** `ERROR ...`

## Diagnosis

1. Check the service health:

   ```bash
   curl -fsS https://service.internal/healthz
   ```

2. Look at recent deploys and error rates.

## Resolution

### Immediate actions

1. Mitigate user impact first (fail over, scale out, roll back).

### Root-cause fix

1. Describe the permanent fix and link the change.

## Verification

- [ ] Error rate back under the alert threshold
- [ ] Dashboards green for 15 minutes
- [ ] Customer-facing status page updated

## Rollback

1. How to undo the resolution if it makes things worse.

## Prevention

- Follow-up work to stop this from happening again.

## Escalation

| level | who | when |
| --- | --- | --- |
| L1 | on-call engineer | immediately |
| L2 | service owner | after 30 minutes |
| On-call manager | incident commander | P0/P1 |

## Related

- Links to related runbooks and dashboards.
""",
    "procedure": """## Overview

What this procedure does and when to run it.

## Prerequisites

- [ ] Access to the production cluster
- [ ] Change ticket approved

## Procedure

1. First step, with the exact command:

   ```bash
   kubectl get pods -n example
   ```

2. Second step.

## Verification

- [ ] The expected outcome is visible

## Troubleshooting

| problem | cause | solution |
| --- | --- | --- |
| | | |

## References

- Links to docs, tickets and dashboards.
""",
    "guardrail": """## Scope & purpose

What this guardrail protects and when it applies.

## Readiness & dependencies

- [ ] Dependencies healthy
- [ ] Stakeholders informed

## Execution steps

1. **(T+0 min)** First step, copy-paste ready:

   ```bash
   echo "step one"
   ```

2. **(T+5 min)** Second step.

## Observability & verification

- Dashboards and signals to watch, with thresholds.

## Rollback / contingency

1. How to back out safely.

## Communications

- Who to tell, in which channel, with which template.
""",
    "service": """## Overview

What the service does, who owns it, who depends on it.

## Architecture

- Components, data stores, upstream and downstream dependencies.

## Health checks

```bash
curl -fsS https://service.internal/healthz
```

## Deployment

### Staging

1. Deploy to staging.

### Production

1. Deploy to production.

### Rollback

1. Roll back to the previous release.

## Common operations

### Restart

### Scale

### Backup

## Troubleshooting

### Issue: describe it

- **Symptoms:**
- **Cause:**
- **Solution:**

## Monitoring

- Dashboards and alerts.

## Emergency contacts

| role | name | contact |
| --- | --- | --- |
| Primary on-call | | |
| Secondary | | |
""",
    "postmortem": """## Summary

- **Severity:** P1
- **Status:** Resolved
- **Start:**
- **End:**

## Timeline

| time (UTC) | event |
| --- | --- |
| | |

## Impact

## Root cause

## Resolution

## Prevention

## Lessons learned

## Corrective actions

| action | owner | due | status |
| --- | --- | --- | --- |
| | | | |
""",
    "break_glass": """## Purpose

- The system this emergency access opens, and the emergency it is for.

## Who may invoke it

- Roles allowed to break the glass (e.g. the incident commander, the on-call lead).
- Who must be told before, or at the latest when, it is invoked.

## Granting access

1. Record the reason and the revoke-by time: start this runbook from the app, which asks for both.
2. Grant the access (the exact command or console steps).

```bash
# grant the emergency role
```

## Duration

- Default: 1 hour. Never longer than 4 hours without a new invocation.

## Logging

- Where the access is logged and who reviews the log.

## Revocation

1. Remove the access (the exact command).
2. Confirm it is gone.

```bash
# revoke the emergency role
```

## Notify security

- Tell the security contact: who invoked it, why, when it was granted and revoked.
""",
    "rollback": """## Trigger

- The signal that means roll back (error rate, failed verification, a decision by the incident commander).

## Pre-checks

- [ ] The previous release or configuration is known and available
- [ ] Data migrations since then are reversible, or the rollback skips them
- [ ] The incident channel knows a rollback is starting

## Steps

1. Roll back (the exact command).

```bash
# roll back to the previous release
```

## Verification

- [ ] Health checks pass
- [ ] The trigger signal is back to normal

## Communication

- Announce the rollback, its reason and the result in the incident channel and on the status page.
""",
}

"""Signals other apps (search) listen to, so runbooks never imports them.

Both are sent inside the writing transaction: a receiver's writes commit or
roll back with the change that caused them.
"""

from django.dispatch import Signal

# A runbook's current revision or searchable metadata changed. kwargs: runbook
runbook_changed = Signal()

# Many runbooks were written in bulk (seeding, import). kwargs: runbook_ids
runbooks_bulk_changed = Signal()

"""Where the analytics read: the replica when `DATABASE_REPLICA_URL` names one, else the primary.

Every analytics selector reads through `reads()` (`Model.objects.for_merchant(m).using(reads())`,
`connections[reads()]`),
so figures can move off the primary without touching the writes. A replica lags the primary by its
replication delay; the figures already lag the events by the refresh interval, so that changes nothing a
merchant would notice. The refresh itself (analytics.refresh) writes, and always uses the primary.
"""

from __future__ import annotations

from django.conf import settings


def reads() -> str:
    """The connection alias of the analytics reads (settings.ANALYTICS_DATABASE)."""
    return str(settings.ANALYTICS_DATABASE)

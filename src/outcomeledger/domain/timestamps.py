"""One timestamp style in every output: RFC 3339 in UTC with ``Z`` (``2017-12-01T10:00:00Z``,
``2026-12-02T04:24:55.342026Z``), exactly as the events store ``recorded_at``.

Stored events are never rewritten; a moment is formatted here when it is printed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

_encode = msgspec.json.Encoder().encode


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with ``Z`` (microseconds only when it has them); a
    naive moment is taken to be UTC already."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return _encode(utc)[1:-1].decode()

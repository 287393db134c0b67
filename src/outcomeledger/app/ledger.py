"""The ledger as the application opens it: the event store handed the read models.

The store (``storage``) appends events; the read models (``projections``) are a layer
above it. Every write must commit with the read models that follow from it (an event the
projections cannot fold is refused, nothing written), so the store runs them inside its
write transaction, but it is handed them here rather than importing them: storage stays
below projections. Open every ledger that writes through :func:`open_ledger`.
"""

from __future__ import annotations

from ..storage import sqldb
from ..storage.store import Ledger
from ..storage.writing import Folded


class ReadModels:
    """Every registered projection, as the store's :class:`~..storage.writing.Projector`.

    The projections are imported when first used, not with this module: commands that
    never write nor read a projection (``--help``, ``schema``) start without them.
    """

    def catch_up(self, conn: sqldb.Conn) -> int:
        from ..projections import catch_up

        return catch_up(conn).events

    def catch_up_within(self, conn: sqldb.Conn, folded: Folded | None = None) -> int:
        from ..projections.projector import catch_up_within

        return catch_up_within(conn, folded=folded).position

    def failure(self, error: BaseException) -> str | None:
        from ..projections.projector import failure

        return failure(error)


READ_MODELS = ReadModels()


def open_ledger(url: str | None, *, create: bool = False) -> Ledger:
    """The ledger at ``url`` (a path or a postgresql:// URL; None: the default), with its
    read models kept in step with every write."""
    return Ledger.open(url, projector=READ_MODELS, create=create)

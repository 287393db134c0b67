"""What the programme report reads of its contracts from the read models (DESIGN 10):
their identity from ``proj_contract_state``, their figures from ``proj_payments_totals``,
so a programme of a hundred long contracts is reported without folding a stream.

Apart from the read models it reads because it asks the projector whether they are
current (a module those read models must not import: the projector imports them).
"""

from __future__ import annotations

from collections.abc import Collection

from ..storage import sqldb
from ..storage.sqldb import Conn, PgConnection
from . import contract_state, payments, source, sql
from .projector import positions


def programme_members(conn: Conn, programme: str, drawn: Collection[str]
                      ) -> list[tuple[str, str, str | None, str, str, str]] | None:
    """(contract, title, programme, earned, payable, forecast_at_targets) of every
    contract whose latest terms name ``programme`` or that is in ``drawn`` (it drew on
    the programme, then left), in the order they were agreed: what the programme report
    needs, read from the rows the projector keeps (no stream is folded). None when those
    read models are not current (not built, behind the ledger, or in an older layout a
    write has not rebuilt yet): the caller folds the streams instead."""
    tables = ["proj_contract_state", "proj_payments_totals"]
    if sql.existing(conn, tables) != set(tables):
        return None
    tracked = positions(conn, [contract_state.PROJECTION, payments.PROJECTION])
    if set(tracked.values()) != {source.head(conn)}:
        return None
    marks = ", ".join("?" * len(drawn))
    query = ("SELECT c.contract, c.title, c.programme, t.earned, t.payable, "
             "t.forecast_at_targets FROM proj_contract_state c JOIN proj_payments_totals t "
             "ON t.contract = c.contract WHERE c.programme = ?"
             + (f" OR c.contract IN ({marks})" if drawn else "")
             + " ORDER BY c.agreed_at, c.contract")
    parameters = (programme, *sorted(drawn))
    try:
        rows = (conn.fetch(query, parameters) if isinstance(conn, PgConnection)
                else conn.execute(query, parameters).fetchall())
    except sqldb.errors():  # an older layout (no `programme` column yet)
        return None
    return [(r[0], r[1], r[2], str(r[3]), str(r[4]), str(r[5])) for r in rows]

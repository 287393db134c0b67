"""Every read model the ledger maintains, in the order they are built and dumped."""

from __future__ import annotations

from . import accountability, audit_trail, contract_state, payments, programmes
from .base import Projection, Table

PROJECTIONS: tuple[Projection, ...] = (
    contract_state.PROJECTION,
    payments.PROJECTION,
    accountability.PROJECTION,
    audit_trail.PROJECTION,
    programmes.DRAWS_PROJECTION,
    programmes.FUNDER_DRAWS_PROJECTION,
)

TABLES: tuple[Table, ...] = tuple(t for p in PROJECTIONS for t in p.tables)

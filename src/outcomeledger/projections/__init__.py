"""Read models: pure folds over the global event order, kept as SQL tables ``proj_*``.

See ``projections/README.md`` at the top of the repository for every table and field.
"""

from __future__ import annotations

from .base import ContractView, Projection, Row, Table
from .projector import CatchUp, catch_up, dump, ensure, in_memory, positions, rebuild
from .registry import PROJECTIONS, TABLES
from .source import Cutoff

__all__ = ["PROJECTIONS", "TABLES", "CatchUp", "ContractView", "Cutoff", "Projection", "Row",
           "Table", "catch_up", "dump", "ensure", "in_memory", "positions", "rebuild"]

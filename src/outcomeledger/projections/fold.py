"""A whole-stream fold that builds exactly the state ``state.evolve`` builds, faster.

It lives in :mod:`outcomeledger.state` (``fold_events``) beside ``evolve``, since loading a
contract uses it as much as the projector does; re-exported here for the projector.
"""

from __future__ import annotations

from ..state import fold_events

__all__ = ["fold_events"]

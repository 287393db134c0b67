"""outcomeledger: an event-sourced, auditable ledger for outcome-based contracts."""

__version__ = "0.1.0"

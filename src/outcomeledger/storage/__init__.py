"""The event store (eventsourcing + our msgspec mapper), SQLite and PostgreSQL connections, ledger
locations, hash chains, worker processes.
"""

"""Participant data: erase the link between a pseudonym and a person, or look it up.

``erase`` destroys a participant's key in the key store and appends ``ParticipantErased``
(the pseudonym only) in one transaction: both happen or neither does. The events, their
hashes, the payments and every read model stay exactly as they were (README
"Participant data and erasure").
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.commands import EraseParticipant, Meta
from ..domain.contract.command_checks import require_reason
from ..domain.errors import COMMAND, InvalidInput, LedgerError, Problem, Refused
from ..domain.timestamps import rfc3339
from ..storage import participant_keys, sqldb
from ..storage.location import StoreError
from ..storage.store import Ledger, Written


@dataclass(frozen=True, slots=True)
class Participant:
    """What the key store says of one participant id of one contract."""

    contract: str
    pseudonym: str | None  # None once erased
    erased_at: str | None = None


def _connect(ledger: Ledger) -> sqldb.Conn:
    if not ledger.has_projections:
        raise StoreError("participant keys are kept beside the events, in a SQLite file or "
                         f"PostgreSQL (got {ledger.location.display})")
    return ledger.connect()


def create_key_store(ledger: Ledger) -> None:
    """Create the key store's tables (``init`` on PostgreSQL; elsewhere they are created
    with the first keys)."""
    conn = _connect(ledger)
    try:
        participant_keys.ensure_tables(conn)
    finally:
        conn.close()


def find(ledger: Ledger, reference: str, participant: str) -> Participant:
    """The participant's pseudonym while its key exists; refused for a contract that
    does not pseudonymise, or an id the key store has never seen there."""
    state = ledger.get(reference)
    if state.base_terms.participant_ids != "pseudonymised":
        raise Refused(f"contract {reference!r} records participant ids in clear "
                      "(participant_ids = \"clear\"): they are in the bytes of its "
                      "immutable events, which erasure cannot remove; nothing to look up",
                      "participant")
    conn = _connect(ledger)
    try:
        found = None
        if participant_keys.has_tables(conn):
            found = participant_keys.load(conn, reference, [participant]).found.get(
                participant)
    finally:
        conn.close()
    if found is None:
        raise Refused(f"unknown participant (got {participant!r}, expected the id of a "
                      f"participant named by a return of contract {reference})", "participant")
    if isinstance(found, participant_keys.Erased):
        return Participant(reference, None, found.erased_at)
    return Participant(reference, found.pseudonym)


def erase(ledger: Ledger, reference: str, participant: str, reason: str,
          meta: Meta) -> Written:
    """Destroy the participant's key and record ``ParticipantErased``, together."""
    require_reason(reason, "an erasure")
    if participant.strip() and participant.strip().casefold() in reason.casefold():
        # The reason is kept in the events for good: it must not undo the erasure.
        raise InvalidInput([Problem(COMMAND, None, "reason", (
            "names the participant being erased (got a reason holding the id, expected a "
            "reference to the request that does not identify the person)"))])
    known = find(ledger, reference, participant)
    if known.pseudonym is None:
        raise Refused(f"participant {participant!r} of contract {reference} was erased "
                      f"already, on {(known.erased_at or '')[:10]}", "participant")
    stamp = rfc3339(meta.recorded_at)

    def destroy(conn: sqldb.Conn) -> None:
        participant_keys.erase(conn, reference, participant, stamp)

    written = ledger.execute_batch([(reference, EraseParticipant(known.pseudonym, reason))],
                                   meta, also=destroy)[0]
    conn = _connect(ledger)
    try:
        participant_keys.scrub(conn)
    except sqldb.errors() as e:  # committed already: the key is gone; say what is left
        raise LedgerError(f"erased {known.pseudonym}, but the write-ahead log could not be "
                          f"truncated ({e}): checkpoint the database (PRAGMA "
                          "wal_checkpoint(TRUNCATE)) before it is copied anywhere") from None
    finally:
        conn.close()
    return written

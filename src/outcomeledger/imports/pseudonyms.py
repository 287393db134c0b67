"""Participant ids made pseudonyms before a pseudonymised contract's returns are decided.

For every contract agreed with ``participant_ids = "pseudonymised"``, each participant id
an import names is replaced by the participant's pseudonym from the key store
(:mod:`outcomeledger.storage.participant_keys`; a new participant gets a new key, written
in the same transaction as the events), and the evidence reference of such a row by a
keyed digest under the participant's key. The decider then sees pseudonyms only, so the
once-per-participant rules, ladders and the participant cap apply to them exactly as to
clear ids: a pseudonym is stable for as long as its key exists. An id whose key was
erased is refused, never linked back and never counted as a new person (which would let
the same person be paid for again).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..domain.errors import Problem
from ..domain.timestamps import rfc3339
from ..storage import participant_keys, sqldb
from ..storage.location import StoreError
from ..storage.store import Ledger
from .batch import Parsed
from .returns import FigureKey, Return

#: Writes an import's new participant keys in the events' transaction.
Saver = Callable[[sqldb.Conn], None]


def pseudonymise(ledger: Ledger, parsed: list[Parsed], recorded_at: datetime,
                 problems: list[Problem]) -> Saver | None:
    """Replace the participant ids (and their evidence) of every pseudonymised contract's
    returns in ``parsed``, in place. An erased id is a problem. Returns what writes the
    keys made for participants new to the store (None: none made)."""
    by_contract: dict[str, list[tuple[str, Return]]] = {}
    for p in parsed:
        for ret in p.file.returns.values():
            if ret.by_participant:
                by_contract.setdefault(ret.contract, []).append((p.file.name, ret))
    if not by_contract:
        return None
    protected = [c for c in by_contract if _pseudonymised(ledger, c)]
    if not protected:
        return None
    made: list[participant_keys.ContractKeys] = []
    conn = _connect(ledger)
    try:
        # (No tables yet: no keys. They are created with the first keys, in the events'
        # transaction, so a refused import leaves the database as it was.)
        stored = participant_keys.has_tables(conn)
        for contract in protected:
            ids = {key[1] for _, ret in by_contract[contract] for key in ret.keys
                   if isinstance(key, tuple)}
            keys = participant_keys.load(conn, contract, ids if stored else None)
            for name, ret in by_contract[contract]:
                _protect(ret, keys, name, problems)
            if keys.made:
                made.append(keys)
    finally:
        conn.close()
    if not made:
        return None
    stamp = rfc3339(recorded_at)
    return lambda c: participant_keys.save(c, made, stamp)


def _pseudonymised(ledger: Ledger, contract: str) -> bool:
    state = ledger.load(contract)
    return state.exists and state.base_terms.participant_ids == "pseudonymised"


def _connect(ledger: Ledger) -> sqldb.Conn:
    if not ledger.has_projections:
        raise StoreError("a contract with pseudonymised participants needs its key store "
                         "beside the events: a ledger in a SQLite file or PostgreSQL (got "
                         f"{ledger.location.display})")
    return ledger.connect()


def _protect(ret: Return, keys: participant_keys.ContractKeys, name: str,
             problems: list[Problem]) -> None:
    """The return's participant figures re-keyed by pseudonym, evidence digested."""
    renamed: dict[FigureKey, int] = {}
    dropped: set[FigureKey] = set()
    for fkey, position in ret.keys.items():
        if not isinstance(fkey, tuple):
            renamed[fkey] = position
            continue
        outcome, participant = fkey
        key = keys.key(participant)
        if isinstance(key, participant_keys.Erased):
            problems.append(Problem(name, ret.lines[position], "participant", (
                f"erased from contract {ret.contract} on {key.erased_at[:10]} (got "
                f"{participant!r}, expected a participant whose data was not erased; a "
                "new enrolment of the same person is not linked back: give it a new id "
                "only if the contract treats it as a new participant)")))
            gone: FigureKey = (outcome, f"erased row {ret.lines[position]}")
            dropped.add(gone)  # refused: not decided
            renamed[gone] = position
            continue
        new: FigureKey = (outcome, key.pseudonym)
        renamed[new] = position
        if ret.dropped and fkey in ret.dropped:
            dropped.add(new)
        if ret.details and position in ret.details:
            achieved_on, evidence = ret.details[position]
            if evidence:
                ret.details[position] = (achieved_on, participant_keys.evidence_digest(
                    key.secret, evidence))
    ret.keys = renamed
    if ret.dropped or dropped:
        ret.dropped = {k for k in (ret.dropped or set()) if not isinstance(k, tuple)} | dropped

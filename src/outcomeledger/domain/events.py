"""Every event of the ledger: the published, versioned record of what happened.

Events are frozen msgspec Structs in one tagged union. The stored topic is
``<tag>/<version>``, never a Python path, so moving code never breaks stored data.
An event type's fields may gain defaults (a new version with an upcaster in
:mod:`outcomeledger.domain.codec`); a field never changes type and a tag is never reused.

Every event carries ``recorded_at`` (UTC, when the ledger learned it), ``recorded_by``
(the actor), ``reason`` and ``prev_hash`` (the hash of the previous event of its
contract stream; :data:`GENESIS` for the first); an authenticated actor's event also its
``key_id`` and ``signature``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal

from msgspec import Struct

from .terms import BusinessCase, ContractTerms
from .variations import Variation

#: prev_hash of the first event of every contract stream.
GENESIS = "0" * 64

#: ``PaymentCertified.closure_rule`` values (:mod:`outcomeledger.domain.payments.closure`):
#: the rule of today, recorded on every run certified after a closure (the money stops at
#: closure), and the rule before it (the schedule ran through the contract's end), which a
#: run certified after a closure without the field was decided by.
CLOSURE_RULE = 2
RAN_TO_END = 1

AdjustmentKind = Literal[
    "bonus", "penalty", "service_credit", "clawback", "recovery",
    "gain_share", "pain_share", "indexation", "other",
]
ADJUSTMENT_KINDS: tuple[str, ...] = AdjustmentKind.__args__  # type: ignore[attr-defined]


class Source(Struct, frozen=True, omit_defaults=True):
    """Where figures came from: the imported file and its SHA-256."""

    file: str
    sha256: str
    signature: str | None = None
    # A scheme-2 signature (domain/signing.py ReturnStatement) also signs the periods of
    # the file's rows for the contract and the provider's sequence number; a signature
    # without them is scheme 1 (the file's SHA-256 alone). Omitted when unset: sources
    # stored before them keep their bytes.
    sequence: int | None = None
    periods: tuple[str, ...] | None = None


class Figure(Struct, frozen=True, omit_defaults=True):
    """One figure of a return, keyed by (period, provider, outcome, participant)."""

    outcome: str
    value: Decimal
    participant: str = ""
    achieved_on: date | None = None
    evidence: str = ""
    line: int | None = None  # line of the source file, for provenance


class Event(Struct, frozen=True, tag_field="type", tag=True, kw_only=True, omit_defaults=True):
    VERSION: ClassVar[int] = 1

    contract: str
    recorded_at: datetime
    recorded_by: str
    reason: str = ""
    prev_hash: str = GENESIS
    # An authenticated actor's write (a contract declaring keyed actors): the id of the
    # key ``recorded_by`` signed it with (domain/signing.py key_id) and the base64 Ed25519
    # signature of the event's canonical encoding without ``signature`` (prev_hash
    # included: the signature binds the event to the head it was appended to; see
    # codec.signed_bytes). Omitted when unset: every unsigned event keeps its bytes.
    key_id: str | None = None
    signature: str | None = None


class ContractAgreed(Event, frozen=True, kw_only=True):
    terms: ContractTerms


class ContractVaried(Event, frozen=True, kw_only=True):
    effective_from: date
    variation: Variation


class ReturnSubmitted(Event, frozen=True, kw_only=True):
    """New figures for one (period, provider): a first, late or supplementary return."""

    period: str
    provider: str = ""
    figures: tuple[Figure, ...]
    source: Source | None = None
    late: bool = False
    # The day the return was received, when given (``returns import --received-on``, a
    # back-filled history); absent: the day it was recorded. ``recorded_at`` stays the
    # ledger's own clock. An optional field omitted when unset: events stored before it
    # existed decode to None and keep their exact bytes, so the topic version is unchanged.
    received_on: date | None = None


class ReturnRestated(Event, frozen=True, kw_only=True):
    """Supersedes exactly the figures it lists; ``originals`` are the values replaced."""

    period: str
    provider: str = ""
    figures: tuple[Figure, ...]
    originals: tuple[Figure, ...]
    source: Source | None = None
    received_on: date | None = None  # as on ReturnSubmitted


class ReturnValidated(Event, frozen=True, kw_only=True):
    period: str
    provider: str = ""


class ReturnRejected(Event, frozen=True, kw_only=True):
    """The figures of one (period, provider) return are excluded from payments."""

    period: str
    provider: str = ""


class RewardAdjusted(Event, frozen=True, kw_only=True):
    period: str
    kind: AdjustmentKind
    amount: Decimal
    source: Source | None = None


class PaymentCertified(Event, frozen=True, kw_only=True):
    """A payment run: ``amount`` = cumulative payable through ``period`` minus everything
    certified before; ``true_up`` is the part of it that corrects periods already
    certified (a restatement's cash effect)."""

    period: str
    amount: Decimal
    cumulative_payable: Decimal
    true_up: Decimal
    # A contract in a programme (DESIGN 10): the programme drawn on, and what the run owed
    # that the programme's budget could not pay (``amount`` is what it could). Omitted
    # when unset, so the runs of contracts outside programmes keep their bytes.
    programme: str | None = None
    above_budget: Decimal | None = None
    # The rule of a closed contract's schedule the run was decided by (recorded on a run
    # certified after a closure; :data:`CLOSURE_RULE`). Absent after a closure: recorded
    # before that rule (:data:`RAN_TO_END`). Omitted when unset, so every stored event
    # keeps its exact bytes and the topic version is unchanged.
    closure_rule: int | None = None


class Cost(Struct, frozen=True, omit_defaults=True):
    """One cost line of a period (DESIGN 11, shared risk on cost): what was spent on
    ``category``."""

    category: str
    amount: Decimal
    evidence: str = ""
    line: int | None = None  # line of the source file, for provenance


class CostsReported(Event, frozen=True, kw_only=True):
    """The supplier's costs of one period, by category (``costs import``): ``costs`` are
    categories reported for the first time; ``restated`` supersede the amounts recorded
    for their categories (``--restate``), ``originals`` being those amounts, line by line."""

    period: str
    costs: tuple[Cost, ...] = ()
    restated: tuple[Cost, ...] = ()
    originals: tuple[Cost, ...] = ()
    source: Source | None = None
    late: bool = False  # new costs recorded after the period's return was due
    received_on: date | None = None  # as on ReturnSubmitted


class ContractClosed(Event, frozen=True, kw_only=True):
    closed_on: date


class ContractExtended(Event, frozen=True, kw_only=True):
    """An extension option exercised, its condition having held on ``decided_on`` (DESIGN
    11): the term ends on ``end`` (``months`` later), from ``effective_from``, the day after
    the end it replaces; ``claims_until`` moves by the same months (None: the terms give
    none, so the claims window follows ``end``). Folds as a change of the term, like a
    variation of ``end``."""

    option: str
    months: int
    decided_on: date
    effective_from: date
    end: date
    claims_until: date | None = None


class ContractBroken(ContractClosed, frozen=True, kw_only=True):
    """A break option exercised, its condition having held on ``decided_on``: the
    contract closes on the break's date (``closed_on``). A ``ContractClosed`` that also
    names its option, so everything that reads a closure (fees, retention, the UK11
    notice, the read models) reads this one too, while ``audit verify`` decides it again
    as a break, condition and all, not as a plain closure."""

    option: str
    decided_on: date


class BusinessCaseApproved(Event, frozen=True, kw_only=True):
    """A business case approved (DESIGN 11): its outcomes join the terms from its
    ``effective`` date, as a variation adding them would, and are paid within its
    ``budget`` (first) and the contract's caps; their payment lines name it."""

    business_case: BusinessCase


class ParticipantErased(Event, frozen=True, kw_only=True):
    """The link between a pseudonymised participant and the person was destroyed
    (``participant erase``; README "Participant data and erasure"): the key that made
    ``pseudonym`` from the participant's id is gone from the key store. The event holds
    the pseudonym only, never the id; the figures under the pseudonym stay and keep
    paying exactly as before (``reason``: why, e.g. the UK GDPR Art. 17 request)."""

    pseudonym: str


AnyEvent = (
    ContractAgreed | ContractVaried | ReturnSubmitted | ReturnRestated | ReturnValidated
    | ReturnRejected | RewardAdjusted | PaymentCertified | ContractClosed | ContractExtended
    | ContractBroken | BusinessCaseApproved | CostsReported | ParticipantErased
)

EVENT_TYPES: tuple[type[Event], ...] = (
    ContractAgreed, ContractVaried, ReturnSubmitted, ReturnRestated, ReturnValidated,
    ReturnRejected, RewardAdjusted, PaymentCertified, ContractClosed, ContractExtended,
    ContractBroken, BusinessCaseApproved, CostsReported, ParticipantErased,
)


def type_name(event: Event) -> str:
    return type(event).__name__


def topic_of(cls: type[Event]) -> str:
    return f"{cls.__name__}/{cls.VERSION}"

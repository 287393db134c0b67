"""Commands: what a person or system asks the ledger to do (imperatives).

Frozen msgspec Structs, as the events are: ``audit verify`` builds one command per stored
event to decide it again, and a Struct is built in a tenth of a frozen dataclass's time.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import msgspec

from .events import CLOSURE_RULE, AdjustmentKind, Cost, Figure, Source
from .signing import RETURN_SCHEME_STATEMENT
from .terms import BusinessCase, ContractTerms
from .variations import Variation


class Meta(msgspec.Struct, frozen=True):
    """Who is acting and when: passed in, so the domain never reads the clock.

    ``key_id``: the id of the key the actor signs with (``--key``; from a stored event,
    the key it was signed with); ``key``: that raw private key, which signs each event as
    it is chained (storage/planning.py). Neither is ever stored but as the event's
    ``key_id`` and ``signature``."""

    recorded_at: datetime
    recorded_by: str
    key_id: str | None = None
    key: bytes | None = None


class AgreeContract(msgspec.Struct, frozen=True):
    terms: ContractTerms
    reason: str = "contract agreed"


class VaryContract(msgspec.Struct, frozen=True):
    variation: Variation
    effective_from: date
    reason: str
    source: str = "variation"


class SubmitReturn(msgspec.Struct, frozen=True):
    """All figures of one (period, provider) in one import."""

    period: str
    provider: str
    figures: tuple[Figure, ...]
    source: Source | None = None
    restate: bool = False
    reason: str = ""
    received_on: date | None = None  # when the return was received, if not today
    #: The signature scheme a signed return is decided by: today's, except when ``audit
    #: verify`` decides again a return recorded under scheme 1 (domain/signing.py).
    signature_scheme: int = RETURN_SCHEME_STATEMENT


class ReportCosts(msgspec.Struct, frozen=True):
    """All cost lines of one period in one import (DESIGN 11, shared risk on cost)."""

    period: str
    costs: tuple[Cost, ...]
    source: Source | None = None
    restate: bool = False
    reason: str = ""
    received_on: date | None = None  # when the costs were received, if not today


class ValidateReturn(msgspec.Struct, frozen=True):
    period: str
    provider: str
    reason: str = "validated"


class RejectReturn(msgspec.Struct, frozen=True):
    period: str
    provider: str
    reason: str


class AdjustReward(msgspec.Struct, frozen=True):
    period: str
    kind: AdjustmentKind
    amount: Decimal
    reason: str
    source: Source | None = None
    line: int | None = None


class CertifyPayment(msgspec.Struct, frozen=True):
    period: str
    reason: str = "payment run"
    #: For a contract in a programme: what the programme's budget can still pay (the
    #: store reads it from the programme's stream). None: not in a programme.
    headroom: Decimal | None = None
    #: The closure rule a closed contract's run is decided by: today's, except when
    #: ``audit verify`` decides again a run recorded under an earlier one.
    closure_rule: int = CLOSURE_RULE


class CloseContract(msgspec.Struct, frozen=True):
    closed_on: date
    reason: str


class _ExerciseOption(msgspec.Struct, frozen=True):
    """Exercise option ``option`` of the terms, its condition judged on ``on``."""

    option: str
    on: date
    reason: str


class ExtendContract(_ExerciseOption, frozen=True):
    """Exercise an extension option (DESIGN 11)."""


class BreakContract(_ExerciseOption, frozen=True):
    """Exercise a break option (DESIGN 11)."""


class ApproveBusinessCase(msgspec.Struct, frozen=True):
    """Approve a business case (DESIGN 11); ``source`` names its file in refusals."""

    business_case: BusinessCase
    reason: str
    source: str = "business case"


class EraseParticipant(msgspec.Struct, frozen=True):
    """Record that the link from ``pseudonym`` to a person was destroyed (the key store's
    part is the application's: :mod:`outcomeledger.storage.participant_keys`)."""

    pseudonym: str
    reason: str


Command = (
    AgreeContract | VaryContract | SubmitReturn | ValidateReturn | RejectReturn
    | AdjustReward | CertifyPayment | CloseContract | ExtendContract | BreakContract
    | ApproveBusinessCase | ReportCosts | EraseParticipant
)

"""Who may do what on a contract that declares its actors (DESIGN 4.1 ``actors``).

A contract without ``actors`` accepts any actor (every event still records who acted).
Once actors are declared, an undeclared actor is refused, and each role may:

* commissioner: agree, vary, adjust, certify, close, validate and reject returns, exercise
  extension and break options, approve business cases, erase a participant's data;
* provider (of one network provider): submit and restate returns for that provider only;
* validator (an independent assessor): submit results, restate, validate and reject;
* commissioner and validator: report (and restate) the costs of a contract sharing risk
  on cost (DESIGN 11), the figures its gain and pain shares are computed from;
* auditor: nothing that writes — read-only.

Once an actor declares a ``public_key`` the names are authenticated too: every write must
be signed with the key of the actor it claims (:mod:`.actors`).
"""

from __future__ import annotations

from .actors import authenticate
from .commands import (
    AdjustReward,
    AgreeContract,
    ApproveBusinessCase,
    BreakContract,
    CertifyPayment,
    CloseContract,
    Command,
    EraseParticipant,
    ExtendContract,
    Meta,
    RejectReturn,
    ReportCosts,
    SubmitReturn,
    ValidateReturn,
    VaryContract,
)
from .errors import Refused
from .terms import ContractTerms

_ALLOWED: dict[str, tuple[type, ...]] = {
    "commissioner": (AgreeContract, VaryContract, AdjustReward, CertifyPayment, CloseContract,
                     ValidateReturn, RejectReturn, ExtendContract, BreakContract,
                     ApproveBusinessCase, ReportCosts, EraseParticipant),
    "provider": (SubmitReturn,),
    "validator": (SubmitReturn, ValidateReturn, RejectReturn, ReportCosts),
    "auditor": (),
}

_NAMES = {
    AgreeContract: "agree the contract", VaryContract: "vary the contract",
    AdjustReward: "record adjustments", CertifyPayment: "certify payments",
    CloseContract: "close the contract", ValidateReturn: "validate returns",
    RejectReturn: "reject returns", SubmitReturn: "submit returns",
    ExtendContract: "extend the contract", BreakContract: "break the contract",
    ApproveBusinessCase: "approve business cases", ReportCosts: "report costs",
    EraseParticipant: "erase participant data",
}


def authorise(terms: ContractTerms, command: Command, meta: Meta) -> bool:
    """Refuse ``command`` unless its actor holds a role on ``terms`` that allows it, and,
    on a keyed contract, signs with its own key (:mod:`.actors`); whether the events are
    to be signed. A refusal names the actor claimed, never who would be allowed."""
    signed = authenticate(terms, meta.recorded_by, meta.key_id)
    if not terms.actors:
        return signed
    actor = meta.recorded_by
    field = "contract"
    for role in terms.actors:
        if role.name != actor or not isinstance(command, _ALLOWED[role.role]):
            continue
        if role.role == "provider" and isinstance(command, SubmitReturn) and (
                command.provider != role.provider):
            field = "provider"  # the actor may return, but not for this provider
            continue
        return signed
    action, extra = _NAMES[type(command)], ""
    if isinstance(command, SubmitReturn):
        extra = f" for provider {command.provider!r}" if command.provider else (
            " without a provider")
    # The same words for an undeclared actor and a declared one without the role: a
    # refusal is not a way to learn who is declared, nor what each may do.
    raise Refused(f"actor {actor!r} may not {action}{extra} on contract "
                  f"{terms.reference}", field)

"""Who may do what on a contract that declares its actors (DESIGN 4.1 ``actors``).

A contract without ``actors`` accepts any actor (every event still records who acted).
Once actors are declared, an undeclared actor is refused, and each role may:

* commissioner: agree, vary, adjust, certify, close, validate and reject returns, exercise
  extension and break options, approve business cases, erase a participant's data;
* provider (of one network provider): submit and restate returns for that provider only;
* validator (an independent assessor): submit results, restate, validate and reject;
* auditor: nothing that writes — read-only.
"""

from __future__ import annotations

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
    RejectReturn,
    SubmitReturn,
    ValidateReturn,
    VaryContract,
)
from .errors import Refused
from .terms import ContractTerms

_ALLOWED: dict[str, tuple[type, ...]] = {
    "commissioner": (AgreeContract, VaryContract, AdjustReward, CertifyPayment, CloseContract,
                     ValidateReturn, RejectReturn, ExtendContract, BreakContract,
                     ApproveBusinessCase, EraseParticipant),
    "provider": (SubmitReturn,),
    "validator": (SubmitReturn, ValidateReturn, RejectReturn),
    "auditor": (),
}

_NAMES = {
    AgreeContract: "agree the contract", VaryContract: "vary the contract",
    AdjustReward: "record adjustments", CertifyPayment: "certify payments",
    CloseContract: "close the contract", ValidateReturn: "validate returns",
    RejectReturn: "reject returns", SubmitReturn: "submit returns",
    ExtendContract: "extend the contract", BreakContract: "break the contract",
    ApproveBusinessCase: "approve business cases",
    EraseParticipant: "erase participant data",
}


def authorise(terms: ContractTerms, command: Command, actor: str) -> None:
    """Refuse ``command`` unless ``actor`` holds a role on ``terms`` that allows it."""
    if not terms.actors:
        return
    roles = [a for a in terms.actors if a.name == actor]
    action = _NAMES[type(command)]
    if not roles:
        declared = ", ".join(f"{a.name} ({a.role})" for a in terms.actors)
        raise Refused(f"actor {actor!r} is not declared on contract {terms.reference} and "
                      f"may not {action} (declared: {declared}); pass --actor")
    for role in roles:
        if not isinstance(command, _ALLOWED[role.role]):
            continue
        if role.role == "provider" and isinstance(command, SubmitReturn) and (
                command.provider != role.provider):
            continue
        return
    held = ", ".join(r.role + (f" for {r.provider}" if r.provider else "") for r in roles)
    extra, field = "", "contract"
    if isinstance(command, SubmitReturn):
        extra = f" for provider {command.provider!r}" if command.provider else (
            " without a provider")
        if any(r.role == "provider" for r in roles):
            field = "provider"  # the actor may return, but not for this provider
    raise Refused(f"actor {actor!r} ({held}) may not {action}{extra} on contract "
                  f"{terms.reference}", field)

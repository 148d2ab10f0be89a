"""The domain-event catalogue: every event name, its subject and its versioned payload.

Webhooks, messages and analytics consume exactly these events. `docs/events.md` is generated
from this module, and `tests/test_catalogue.py` fails when the two disagree.

Versioning: a field may be added to a payload within its version; removing or renaming a
field, changing its type or its meaning makes a new version.

`record()` only checks that a name is catalogued (a dict lookup on every write); payloads are
checked against their schemas by the tests, over the rows the referral loop writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError


class CatalogueError(Exception):
    """A domain event that the catalogue does not describe: a programming error."""


class UnknownEvent(CatalogueError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown domain event {name!r}: add it to goodword/events/catalogue.py "
            "and docs/events.md"
        )


class InvalidPayload(CatalogueError):
    """The data or subject of an event does not match its schema."""


ProgramId = Annotated[str, StringConstraints(pattern=r"^prg_[0-9a-z]+$")]
ParticipantId = Annotated[str, StringConstraints(pattern=r"^par_[0-9a-z]+$")]
AdvocateId = Annotated[str, StringConstraints(pattern=r"^adv_[0-9a-z]+$")]
ReferralId = Annotated[str, StringConstraints(pattern=r"^ref_[0-9a-z]+$")]
RewardId = Annotated[str, StringConstraints(pattern=r"^rwd_[0-9a-z]+$")]
# A moment, in ISO 8601 UTC as the envelope writes `created_at`.
Moment = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# Who did something by hand: an API key (`api_key:key_…`) or a dashboard user (`user:<id>`).
Actor = Annotated[str, StringConstraints(pattern=r"^(api_key:key_[0-9a-z]+|user:[0-9A-Za-z_-]+)$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class Payload(BaseModel):
    """The `data` of an event. Unknown keys are refused, and values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoData(Payload):
    pass


class ProgramCreated(Payload):
    version: int | None = Field(default=None, description="its configuration's version")


class FieldsChanged(Payload):
    fields: list[str] = Field(description="names of the fields that changed, sorted")
    version: int | None = Field(
        default=None, description="a program's configuration version after the change"
    )


class WorkspaceCreated(Payload):
    name: str = Field(description="the workspace's name")


class MemberAdded(Payload):
    user: str = Field(description="the member's login (their email address)")
    role: str = Field(description='`"owner"` or `"member"`; more roles may come')


class ApiKeyChanged(Payload):
    name: str = Field(description="the key's name")
    prefix: str = Field(description="the key's first 12 characters, shown in key lists")


class AdvocateEnrolled(Payload):
    program: ProgramId = Field(description="the program enrolled in")
    code: str = Field(description="the advocate's referral code")


class ExperimentAssigned(Payload):
    program: ProgramId = Field(description="the program running the experiment")
    experiment: str = Field(description="the experiment's name")
    variant: str = Field(description='the variant assigned, for good; "holdout": no program')


class AdvocatePromoted(Payload):
    program: ProgramId = Field(description="the program whose tiers these are")
    tier: str = Field(description="the tier reached")
    was: str = Field(description='the tier before ("" below the first)')
    referral: ReferralId = Field(description="the conversion that lifted them")


class InviteCreated(Payload):
    advocate: AdvocateId = Field(description="the advocate who invited")


class ReferralData(Payload):
    # Optional only until every referral event carries it; consumers may rely on it from then.
    program: ProgramId | None = Field(default=None, description="the referral's program")


class ReferralCreated(ReferralData):
    advocate: AdvocateId = Field(description="the advocate the friend is attributed to")
    source: str = Field(description='how: `"code"`, `"token"` (a link) or `"email"` (an invite)')


class ReferralRejected(ReferralData):
    reason: str = Field(
        description='`"self_referral"`, `"existing_customer"` or `"expired"`; more may come'
    )


class ReferralConverted(ReferralData):
    order_id: str = Field(description='the business\'s order id; `""` for a signup trigger')
    amount: int | None = Field(description="order amount in minor units; null for a signup")
    currency: Annotated[str, StringConstraints(pattern=r"^([A-Z]{3})?$")] = Field(
        description='ISO 4217 code of the order; `""` for a signup'
    )


class ReferralReason(ReferralData):
    reason: str = Field(description='why: `"refund"` (reversed), `"late_event"` (withdrawn)')


class ReferralRevised(ReferralData):
    status: str = Field(description="the referral's status now")
    was: str = Field(description="its status before")


class RewardData(Payload):
    referral: ReferralId = Field(description="the referral that earned the reward")


class AnyRewardData(Payload):
    """The data of an event that may be about a manual reward, which has no referral."""

    referral: ReferralId | None = Field(
        description="the referral that earned the reward; null for a manual reward "
        "(`reward.granted_manually`)"
    )


class RewardCreated(RewardData):
    beneficiary: Literal["advocate", "friend"] = Field(description="who earns it")


class RewardApproved(AnyRewardData):
    actor: Actor | None = Field(
        default=None,
        description='who approved it by hand (`"api_key:key_…"` or `"user:<id>"`); absent '
        "when its hold ended",
    )
    early: bool | None = Field(default=None, description="approved by hand before its hold ended")


class RewardFulfilled(AnyRewardData):
    reference: str | None = Field(
        default=None, description="the business's reference, when it was marked fulfilled by hand"
    )
    actor: Actor | None = Field(default=None, description="who marked it fulfilled by hand")


class RewardRejected(RewardData):
    reason: Reason = Field(description="why, as given by the actor")
    actor: Actor = Field(description="who rejected it")


class RewardReversed(AnyRewardData):
    was: Literal["pending", "approved", "fulfilled"] = Field(
        description="its status before; from `pending` it was cancelled before issue"
    )
    reason: Reason | None = Field(default=None, description="why, when reversed by hand")
    actor: Actor | None = Field(default=None, description="who reversed it by hand")


class RewardClawedBack(AnyRewardData):
    debt: int = Field(ge=0, description="minor units the balance could not cover, now owed")
    amount: int | None = Field(
        default=None, gt=0, description="minor units taken back, when only part of the reward"
    )
    refund: str | None = Field(
        default=None, description="the partial refund that took this part back"
    )


class RewardAdjusted(RewardData):
    amount: int = Field(gt=0, description="its amount now, in minor units")
    was: int = Field(gt=0, description="its amount before")
    reason: str = Field(description='why: `"refund"` (a partial refund)')


class RewardGrantedManually(Payload):
    participant: ParticipantId = Field(description="who receives it")
    program: ProgramId | None = Field(description="the program it is booked to, if any")
    kind: Literal["credit", "coupon"] = Field(description="what it gives")
    amount: int | None = Field(description="minor units (credit, or a fixed coupon)")
    percent_off: int | None = Field(description="a percentage coupon's discount")
    currency: Currency = Field(description="ISO 4217 code")
    reason: Reason = Field(description="why, as given by the actor")
    actor: Actor = Field(description="who granted it")


class RewardWithdrawn(RewardData):
    reason: str = Field(description='why: `"late_event"`')


class RewardRevised(RewardData):
    was: str = Field(description="its status before")


class CreditRedeemed(Payload):
    participant: ParticipantId = Field(description="whose credit was spent")
    amount: int = Field(gt=0, description="minor units spent")
    currency: Currency = Field(description="ISO 4217 code")


class CreditAdjusted(Payload):
    participant: ParticipantId = Field(description="whose credit was adjusted")
    amount: int = Field(
        description="signed minor units: more than 0 adds credit (first paying off any debt), "
        "less than 0 takes it"
    )
    currency: Currency = Field(description="ISO 4217 code")
    reason: Reason = Field(description="why, as given by the actor")
    actor: Actor = Field(description="who adjusted it")


class CreditExpired(Payload):
    reward: RewardId = Field(description="the reward whose credit expired (also the subject)")
    participant: ParticipantId = Field(description="whose credit expired")
    amount: int = Field(gt=0, description="minor units that expired: what was left unspent")
    currency: Currency = Field(description="ISO 4217 code")


class CreditExpiring(Payload):
    reward: RewardId = Field(description="the reward whose credit will expire (the subject)")
    participant: ParticipantId = Field(description="whose credit will expire")
    amount: int = Field(
        gt=0, description="minor units that would expire if no more were spent, as of now"
    )
    currency: Currency = Field(description="ISO 4217 code")
    expires_at: Moment = Field(description="when it expires, ISO 8601 in UTC")


# The kinds of subject, by public id prefix.
SUBJECTS = {
    "ws": "workspace",
    "key": "API key",
    "prg": "program",
    "par": "participant",
    "adv": "advocate",
    "inv": "invite",
    "ref": "referral",
    "rwd": "reward",
    "rdm": "redemption",
    "adj": "credit adjustment",
}


@dataclass(frozen=True)
class EventType:
    """One catalogued event: `name` at schema `version`, about a row whose public id starts
    with `subject` and an underscore, with `payload` as its `data`."""

    name: str
    subject: str
    description: str
    payload: type[Payload]
    example: Mapping[str, Any] = field(default_factory=dict)
    version: int = 1


_PRG = "prg_4xq8m2d7c0v9k3n6b1zt"
_ADV = "adv_9k2m4q7x1c8v3n5b0zdt"
_PAR = "par_3n7b1z5t9k2m4q8x0c6v"
_REF = "ref_7c0v9k3n6b1zt4xq8m2d"
_RWD = "rwd_5t9k2m4q8x0c6v3n7b1z"
_ACTOR = "api_key:key_2m4q8x0c6v3n7b1z5t9k"

EVENTS: tuple[EventType, ...] = (
    EventType(
        "workspace.created",
        subject="ws",
        description="A workspace was created.",
        payload=WorkspaceCreated,
        example={"name": "Acme"},
    ),
    EventType(
        "workspace.updated",
        subject="ws",
        description="Workspace settings were changed (`PATCH /workspace`).",
        payload=FieldsChanged,
        example={"fields": ["allowed_domains"]},
    ),
    EventType(
        "member.added",
        subject="ws",
        description="A user became a member of the workspace.",
        payload=MemberAdded,
        example={"user": "owner@acme.test", "role": "owner"},
    ),
    EventType(
        "api_key.created",
        subject="key",
        description="An API key was created.",
        payload=ApiKeyChanged,
        example={"name": "default", "prefix": "gw_sk_Xb3kQ9"},
    ),
    EventType(
        "api_key.revoked",
        subject="key",
        description="An API key was revoked; it fails from the next call.",
        payload=ApiKeyChanged,
        example={"name": "default", "prefix": "gw_sk_Xb3kQ9"},
    ),
    EventType(
        "program.created",
        subject="prg",
        description="A program was created: its configuration is version 1.",
        payload=ProgramCreated,
        example={"version": 1},
    ),
    EventType(
        "program.updated",
        subject="prg",
        description="A program's settings or reward rules changed.",
        payload=FieldsChanged,
        example={"fields": ["hold_days", "rewards"], "version": 2},
    ),
    EventType(
        "participant.created",
        subject="par",
        description="A customer became known to the workspace (API or event).",
        payload=NoData,
    ),
    EventType(
        "advocate.enrolled",
        subject="adv",
        description="A participant was enrolled in a program.",
        payload=AdvocateEnrolled,
        example={"program": _PRG, "code": "ALICE"},
    ),
    EventType(
        "experiment.assigned",
        subject="adv",
        description="An advocate enrolled in a program with an experiment got their variant.",
        payload=ExperimentAssigned,
        example={"program": _PRG, "experiment": "Spring offers", "variant": "B"},
    ),
    EventType(
        "advocate.promoted",
        subject="adv",
        description="A conversion lifted the advocate to a higher tier; later rewards use it.",
        payload=AdvocatePromoted,
        example={"program": _PRG, "tier": "Gold", "was": "Silver", "referral": _REF},
    ),
    EventType(
        "invite.created",
        subject="inv",
        description="An advocate invited a friend by email.",
        payload=InviteCreated,
        example={"advocate": _ADV},
    ),
    EventType(
        "referral.created",
        subject="ref",
        description="A friend was attributed to an advocate (maybe rejected at once).",
        payload=ReferralCreated,
        example={"program": _PRG, "advocate": _ADV, "source": "code"},
    ),
    EventType(
        "referral.rejected",
        subject="ref",
        description="The referral does not qualify, or no longer (its window expired).",
        payload=ReferralRejected,
        example={"program": _PRG, "reason": "existing_customer"},
    ),
    EventType(
        "referral.converted",
        subject="ref",
        description="The friend met the program's trigger (a signup or a qualifying purchase).",
        payload=ReferralConverted,
        example={"program": _PRG, "order_id": "order-1", "amount": 2500, "currency": "USD"},
    ),
    EventType(
        "referral.rewarded",
        subject="ref",
        description="The referral's first reward was approved.",
        payload=ReferralData,
        example={"program": _PRG},
    ),
    EventType(
        "referral.reversed",
        subject="ref",
        description="A converted referral was undone (a refund).",
        payload=ReferralReason,
        example={"program": _PRG, "reason": "refund"},
    ),
    EventType(
        "referral.withdrawn",
        subject="ref",
        description="A provisional referral was removed: a late event changed the decision.",
        payload=ReferralReason,
        example={"program": _PRG, "reason": "late_event"},
    ),
    EventType(
        "referral.revised",
        subject="ref",
        description="A late event moved the referral to another status in business time.",
        payload=ReferralRevised,
        example={"program": _PRG, "status": "signed_up", "was": "converted"},
    ),
    EventType(
        "reward.created",
        subject="rwd",
        description="A reward was granted, pending until its hold ends.",
        payload=RewardCreated,
        example={"referral": _REF, "beneficiary": "advocate"},
    ),
    EventType(
        "reward.approved",
        subject="rwd",
        description="A reward's hold ended, or it was approved by hand: credit is posted (a "
        "coupon is then fulfilled).",
        payload=RewardApproved,
        example={"referral": _REF},
    ),
    EventType(
        "reward.fulfilled",
        subject="rwd",
        description="A coupon reward was issued its code (after reward.approved), or a reward "
        "was marked fulfilled by hand with the business's reference.",
        payload=RewardFulfilled,
        example={"referral": _REF, "reference": "payout-2026-03-118", "actor": _ACTOR},
    ),
    EventType(
        "reward.rejected",
        subject="rwd",
        description="A reward in its hold was rejected by hand: it is never paid.",
        payload=RewardRejected,
        example={"referral": _REF, "reason": "duplicate account", "actor": _ACTOR},
    ),
    EventType(
        "reward.reversed",
        subject="rwd",
        description="A reward was cancelled before issue, or taken back after (a refund, or "
        "by hand with a reason).",
        payload=RewardReversed,
        example={"referral": _REF, "was": "approved"},
    ),
    EventType(
        "reward.clawed_back",
        subject="rwd",
        description="Approved credit was taken back, all or a partial refund's share; what the "
        "balance lacked became debt.",
        payload=RewardClawedBack,
        example={"referral": _REF, "debt": 300},
    ),
    EventType(
        "reward.adjusted",
        subject="rwd",
        description="A reward in its hold changed amount (a partial refund).",
        payload=RewardAdjusted,
        example={"referral": _REF, "amount": 600, "was": 1000, "reason": "refund"},
    ),
    EventType(
        "reward.granted_manually",
        subject="rwd",
        description="A reward was granted by hand, approved at once (reward.approved follows).",
        payload=RewardGrantedManually,
        example={
            "participant": _PAR,
            "program": None,
            "kind": "credit",
            "amount": 500,
            "percent_off": None,
            "currency": "USD",
            "reason": "apology for a late delivery",
            "actor": _ACTOR,
        },
    ),
    EventType(
        "reward.withdrawn",
        subject="rwd",
        description="A provisional reward was removed: a late event changed the decision.",
        payload=RewardWithdrawn,
        example={"referral": _REF, "reason": "late_event"},
    ),
    EventType(
        "reward.revised",
        subject="rwd",
        description="A late event moved the reward to another status in business time.",
        payload=RewardRevised,
        example={"referral": _REF, "was": "reversed"},
    ),
    EventType(
        "credit.redeemed",
        subject="rdm",
        description="A participant spent credit on an order.",
        payload=CreditRedeemed,
        example={"participant": _PAR, "amount": 300, "currency": "USD"},
    ),
    EventType(
        "credit.expiring",
        subject="rwd",
        description="A reward's credit reached its notice date (the rule's "
        "`expiry_notice_days` before it expires) with some of it unspent; sent once.",
        payload=CreditExpiring,
        example={
            "reward": _RWD,
            "participant": _PAR,
            "amount": 700,
            "currency": "USD",
            "expires_at": "2026-06-01T09:00:00Z",
        },
    ),
    EventType(
        "credit.expired",
        subject="rwd",
        description="What was left unspent of a reward's credit expired at its `expires_at`, "
        "moved out of the balance by an `expiry` ledger transaction.",
        payload=CreditExpired,
        example={"reward": _RWD, "participant": _PAR, "amount": 700, "currency": "USD"},
    ),
    EventType(
        "credit.adjusted",
        subject="adj",
        description="A participant's credit was adjusted by hand, with a reason.",
        payload=CreditAdjusted,
        example={
            "participant": _PAR,
            "amount": -300,
            "currency": "USD",
            "reason": "goodwill credit granted twice",
            "actor": _ACTOR,
        },
    ),
)

CATALOGUE: dict[str, EventType] = {event.name: event for event in EVENTS}


def get(name: str) -> EventType:
    """Return the catalogue entry of `name`; raise UnknownEvent when there is none."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownEvent(name) from None


def validate(name: str, data: Mapping[str, Any], *, subject_id: str | None = None) -> Payload:
    """Check an event's data (and subject, when given) against its schema; return the payload.

    Raise UnknownEvent for a name outside the catalogue, InvalidPayload for a bad payload.
    """
    event = get(name)
    if subject_id is not None and not subject_id.startswith(event.subject + "_"):
        raise InvalidPayload(f"{name}: subject {subject_id!r} is not a {event.subject}_ id")
    try:
        return event.payload.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in error.errors()
        )
        raise InvalidPayload(f"{name} v{event.version}: {problems}") from None

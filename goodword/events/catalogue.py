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
# An API key, a staff member, or an advocate acting in their own portal (a reward's choice).
Actor = Annotated[
    str,
    StringConstraints(
        pattern=r"^(api_key:key_[0-9a-z]+|user:[0-9A-Za-z_-]+|advocate:adv_[0-9a-z]+)$"
    ),
]
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


class ProgramStatusChanged(Payload):
    from_: str = Field(alias="from", description="the status it left")
    to: str = Field(description="`draft`, `active`, `paused` or `ended`")
    version: int = Field(description="its configuration's version after the change")
    actor: Actor | None = Field(default=None, description="who changed it by hand")


class ParticipantUpdated(Payload):
    fields: list[str] = Field(
        description="names of the fields that changed, sorted: `attributes`, `email`, `name`"
    )
    attributes: list[str] = Field(
        description="names (not values) of the attributes that changed, sorted; empty when none did"
    )


class WorkspaceCreated(Payload):
    name: str = Field(description="the workspace's name")


_ROLES = '`"owner"`, `"admin"`, `"analyst"` or `"reviewer"`'


class MemberAdded(Payload):
    user: str = Field(description="the member's login (their email address)")
    role: str = Field(description=_ROLES)


class MemberRoleChanged(Payload):
    user: str = Field(description="the member's login (their email address)")
    role: str = Field(description="the role they have now: " + _ROLES)
    was: str = Field(description="the role they had")
    actor: Actor = Field(description="who changed it")


class MemberRemoved(Payload):
    user: str = Field(description="the former member's login (their email address)")
    role: str = Field(description="the role they had")
    actor: Actor = Field(description="who removed them")


class InvitationCreated(Payload):
    email: str = Field(description="the address invited, in lower case")
    role: str = Field(description="the role it offers: " + _ROLES)
    actor: Actor = Field(description="who invited")


class InvitationAccepted(Payload):
    user: str = Field(description="the login (email address) that accepted it")
    role: str = Field(description="the role it offered")
    joined: bool = Field(
        description="false when they were a member already: their role is unchanged"
    )


class InvitationRevoked(Payload):
    email: str = Field(description="the address it was for")
    actor: Actor = Field(
        description="who revoked it, or who sent the newer invitation that replaced it"
    )


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


RewardKind = Literal[
    "credit", "coupon", "cash", "points", "product", "gift_card", "charity", "custom"
]
# Points are kept in the pseudo-currency PTS; every other amount is in an ISO 4217 currency.
_CURRENCY = "ISO 4217 code; `PTS` for points"
_DETAILS = (
    "what a product, gift card, charity or custom reward gives: `sku`, `cause`, "
    "`description`; a coupon's `min_order`; `{}` when nothing"
)


class RewardApproved(AnyRewardData):
    kind: RewardKind = Field(description="what it gives")
    amount: int | None = Field(
        description="minor units (points for points); null for a percentage coupon, or a "
        "product or custom reward without a value"
    )
    percent_off: int | None = Field(description="a percentage coupon's discount")
    currency: Currency = Field(description=_CURRENCY)
    details: dict[str, Any] = Field(description=_DETAILS)
    participant: ParticipantId = Field(description="who receives it")
    external_id: str = Field(description="who receives it, by your id for them")
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
    was: Literal["pending", "approved", "pending_fulfilment", "fulfilled"] = Field(
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
    kind: RewardKind = Field(description="what it gives")
    amount: int | None = Field(description="minor units (points for points), if any")
    percent_off: int | None = Field(description="a percentage coupon's discount")
    currency: Currency = Field(description=_CURRENCY)
    details: dict[str, Any] = Field(description=_DETAILS)
    reason: Reason = Field(description="why, as given by the actor")
    actor: Actor = Field(description="who granted it")


class RewardChosen(AnyRewardData):
    by: Literal["beneficiary", "default"] = Field(
        description='`"beneficiary"`: they chose (`POST /rewards/{id}/choose`); `"default"`: the '
        "choice closed without one (its deadline passed, or the reward was approved by hand) "
        "and the rule's own reward stays"
    )
    kind: RewardKind = Field(description="what the reward gives from now on")
    amount: int | None = Field(description="minor units (points for points), if any")
    percent_off: int | None = Field(description="a percentage coupon's discount")
    currency: Currency = Field(description=_CURRENCY)
    details: dict[str, Any] = Field(description=_DETAILS)
    actor: Actor | None = Field(
        default=None,
        description="the API key that chose, the advocate in their portal "
        "(`advocate:adv_…`), or who approved it by hand",
    )


class FulfilmentData(Payload):
    reward: RewardId = Field(description="the reward to deliver")


class FulfilmentQueued(FulfilmentData):
    participant: ParticipantId = Field(description="who receives it")
    kind: RewardKind = Field(description="the reward's kind")


class FulfilmentDone(FulfilmentData):
    reference: str = Field(
        description="the business's reference (an order, a gift card id); for a coupon that "
        "waited, the code it got"
    )
    actor: Actor | None = Field(
        description="who marked it done; null when codes uploaded to its pool filled it"
    )


class RewardWithdrawn(RewardData):
    reason: str = Field(description='why: `"late_event"`')


class RewardRevised(RewardData):
    was: str = Field(description="its status before")


class CreditRedeemed(Payload):
    participant: ParticipantId = Field(description="whose credit was spent")
    amount: int = Field(gt=0, description="minor units spent")
    currency: Currency = Field(description=_CURRENCY)


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
    currency: Currency = Field(description=_CURRENCY)


class CreditExpiring(Payload):
    reward: RewardId = Field(description="the reward whose credit will expire (the subject)")
    participant: ParticipantId = Field(description="whose credit will expire")
    amount: int = Field(
        gt=0, description="minor units that would expire if no more were spent, as of now"
    )
    currency: Currency = Field(description=_CURRENCY)
    expires_at: Moment = Field(description="when it expires, ISO 8601 in UTC")


PayoutBatchId = Annotated[str, StringConstraints(pattern=r"^pob_[0-9a-z]+$")]
PayoutId = Annotated[str, StringConstraints(pattern=r"^pay_[0-9a-z]+$")]


class PayoutBatchCreated(Payload):
    currency: Currency = Field(description="ISO 4217 code of every payout in the batch")
    min_amount: int = Field(ge=0, description="minor units: who is owed less was left out")
    payouts: int = Field(gt=0, description="how many payouts, one per participant")
    amount: int = Field(gt=0, description="minor units proposed in all")
    actor: Actor = Field(description="who created it")


class PayoutBatchApproved(Payload):
    payouts: int = Field(ge=0, description="how many payouts were approved")
    amount: int = Field(ge=0, description="minor units moved from payable to paying in all")
    dropped: list[ParticipantId] = Field(
        description="participants left out: a clawback since the draft left them nothing owed"
    )
    lowered: list[PayoutId] = Field(
        description="payouts lowered to what was still owed after a clawback"
    )
    actor: Actor = Field(description="who approved it")


class PayoutBatchClosed(Payload):
    paid: int = Field(ge=0, description="how many payouts were paid")
    failed: int = Field(ge=0, description="how many failed (their cash is owed again)")
    amount: int = Field(ge=0, description="minor units paid in all")
    actor: Actor = Field(description="who marked the last payout")


class PayoutBatchCancelled(Payload):
    actor: Actor = Field(description="who cancelled it")


class PayoutData(Payload):
    batch: PayoutBatchId = Field(description="the payout's batch")
    participant: ParticipantId = Field(description="who is paid")
    amount: int = Field(gt=0, description="minor units")
    currency: Currency = Field(description="ISO 4217 code")
    actor: Actor = Field(description="who marked it")


class PayoutPaid(PayoutData):
    reference: str = Field(description="the business's reference (a PayPal or bank transaction)")


class PayoutFailed(PayoutData):
    reason: Reason = Field(description="why, as given by the actor; the cash is owed again")


CouponPoolId = Annotated[str, StringConstraints(pattern=r"^cpl_[0-9a-z]+$")]


class CouponPoolCreated(Payload):
    name: str = Field(description="the pool's name")
    low_threshold: int = Field(ge=0, description="`coupon_pool.low` when this many codes are left")


class CouponCodesAdded(Payload):
    added: int = Field(gt=0, description="codes added to the pool")
    duplicates: int = Field(
        ge=0, description="codes of the upload already in the pool, or repeated in it"
    )


class CouponPoolLow(Payload):
    left: int = Field(ge=0, description="codes left to give out")
    low_threshold: int = Field(ge=0, description="the pool's threshold")


class CouponPoolEmpty(Payload):
    reward: RewardId = Field(description="the coupon reward that found no code, now waiting")
    waiting: int = Field(gt=0, description="rewards waiting for the pool's codes, with this one")


class CouponRevoked(AnyRewardData):
    code: str = Field(description="the code: shops must no longer accept it")
    pool: CouponPoolId | None = Field(description="the pool it came from; null if generated")


class CouponUsed(Payload):
    code: str = Field(description="the code, as the order gave it")
    order_id: str = Field(description="the order that carried it")
    event: str = Field(description="the event that reported the order (`evt_...`)")


class WebhookEndpointCreated(Payload):
    url: str = Field(description="where its deliveries are posted")
    event_types: list[str] = Field(description="the event names it receives; empty: every event")


class WebhookEndpointUrl(Payload):
    url: str = Field(description="where its deliveries were posted")


class WebhookEndpointDisabled(Payload):
    reason: str = Field(
        description='why Goodword turned it off: `"gone"` (the receiver answered 410 Gone) or '
        '`"failing"` (no delivery to it succeeded for 3 days)'
    )
    url: str = Field(description="where its deliveries were posted")


class ImportCompleted(Payload):
    kind: Literal["participants", "orders"] = Field(description="what the file held")
    file_name: str = Field(description="the file's name as given (may be empty)")
    rows: int = Field(description="rows read, refused ones included")
    created: int = Field(description="participants or orders created")
    updated: int = Field(description="participants whose email, name or attributes changed")
    skipped: int = Field(description="rows that changed nothing (already there)")
    failed: int = Field(description="rows refused, each with its reason in the error file")


class WebhookSecretRotated(Payload):
    previous_expires_at: Moment | None = Field(
        description="until when the previous secret signs too (ISO 8601 in UTC); null when it "
        "stopped at once"
    )


class MessagingUpdated(Payload):
    fields: list[str] = Field(
        description="names of the messaging settings that changed, sorted (`PATCH /messaging`)"
    )
    actor: Actor | None = Field(default=None, description="who changed them")


class ProgramMessagingUpdated(Payload):
    journey: str = Field(description="the journey, such as `referral_request`")
    language: str | None = Field(
        description="the language of the template that changed; null when the journey's "
        "setting changed"
    )
    fields: list[str] = Field(
        description="what changed, sorted: the setting's `is_active`, `delay_days`, `min_nps`; "
        "or the template's parts (`subject`, `html`, `text`, `sms`), every part it had when it "
        "was deleted"
    )
    version: int | None = Field(
        description="the template's version after the change; null for a journey's setting "
        "and for a deleted template (the default wording applies again)"
    )
    segment: str = Field(
        default="",
        description="the template's segment (for recipients whose `segment` attribute is it); "
        "empty for the wording for everyone and for a journey's setting",
    )
    actor: Actor | None = Field(default=None, description="who changed it")


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
    "ful": "fulfilment",
    "pob": "payout batch",
    "pay": "payout",
    "cpl": "coupon pool",
    "tinv": "team invitation",
    "whe": "webhook endpoint",
    "imp": "import",
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
_USER = "user:42"
_POB = "pob_8x0c6v3n7b1z5t9k2m4q"

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
        description="A user became a member of the workspace: its first owner, or someone who "
        "accepted an invitation.",
        payload=MemberAdded,
        example={"user": "owner@acme.test", "role": "owner"},
    ),
    EventType(
        "member.role_changed",
        subject="ws",
        description="A member was given another role; it applies from their next request.",
        payload=MemberRoleChanged,
        example={"user": "ann@acme.test", "role": "admin", "was": "analyst", "actor": _USER},
    ),
    EventType(
        "member.removed",
        subject="ws",
        description="A member was taken out of the workspace; from their next request they see "
        "nothing of it.",
        payload=MemberRemoved,
        example={"user": "ann@acme.test", "role": "analyst", "actor": _USER},
    ),
    EventType(
        "invitation.created",
        subject="tinv",
        description="Someone was invited by email to join the team; the link works for "
        "7 days, once.",
        payload=InvitationCreated,
        example={"email": "ann@acme.test", "role": "analyst", "actor": _USER},
    ),
    EventType(
        "invitation.accepted",
        subject="tinv",
        description="An invitation was used: the invited person joined (or was a member already).",
        payload=InvitationAccepted,
        example={"user": "ann@acme.test", "role": "analyst", "joined": True},
    ),
    EventType(
        "invitation.revoked",
        subject="tinv",
        description="An invitation's link was made to stop working, by hand or by a newer "
        "invitation to the same address.",
        payload=InvitationRevoked,
        example={"email": "ann@acme.test", "actor": _USER},
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
        "program.status_changed",
        subject="prg",
        description="A program moved along its lifecycle (draft, active, paused, ended): only "
        "an active program's links carry referrals and its events convert.",
        payload=ProgramStatusChanged,
        example={"from": "active", "to": "paused", "version": 3, "actor": _ACTOR},
    ),
    EventType(
        "participant.created",
        subject="par",
        description="A customer became known to the workspace (API or event). Not for the "
        "participants an import creates: their import has one `import.completed`.",
        payload=NoData,
    ),
    EventType(
        "participant.updated",
        subject="par",
        description="A participant's email, name or attributes changed through the API (events "
        "that carry customer fields are the record of their changes); the values are not "
        "repeated here.",
        payload=ParticipantUpdated,
        example={"fields": ["attributes", "name"], "attributes": ["segment"]},
    ),
    EventType(
        "import.completed",
        subject="imp",
        description="A CSV import of participants or orders finished (docs/import-export.md). "
        "Its rows get no event each (a million-row file would send a million webhooks): export "
        "the participants to see them.",
        payload=ImportCompleted,
        example={
            "kind": "participants",
            "file_name": "customers.csv",
            "rows": 1000,
            "created": 980,
            "updated": 12,
            "skipped": 5,
            "failed": 3,
        },
    ),  # fmt: skip
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
        description="A reward's hold ended, or it was approved by hand: it says what to deliver "
        "to whom. Credit and points are posted, cash is owed, a coupon is then fulfilled, any "
        "other kind is queued (fulfilment.queued).",
        payload=RewardApproved,
        example={
            "referral": _REF,
            "kind": "product",
            "amount": None,
            "percent_off": None,
            "currency": "USD",
            "details": {"sku": "MUG-BLUE"},
            "participant": _PAR,
            "external_id": "cus_alice",
        },
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
        description="An approved reward's credit, points or cash was taken back, all or a "
        "partial refund's share; what the balance (or, for cash, what is still payable) lacked "
        "became debt.",
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
            "details": {},
            "reason": "apology for a late delivery",
            "actor": _ACTOR,
        },
    ),
    EventType(
        "reward.chosen",
        subject="rwd",
        description="A reward offering a choice was given its final form: the beneficiary "
        "chose one of the offers (or its own), or the choice closed with the rule's own.",
        payload=RewardChosen,
        example={
            "referral": _REF,
            "by": "beneficiary",
            "kind": "gift_card",
            "amount": 2000,
            "percent_off": None,
            "currency": "USD",
            "details": {},
            "actor": _ACTOR,
        },
    ),
    EventType(
        "fulfilment.queued",
        subject="ful",
        description="An approved product, gift card, charity or custom reward waits for the "
        "business to deliver it (`GET /fulfilments?status=pending`).",
        payload=FulfilmentQueued,
        example={"reward": _RWD, "participant": _PAR, "kind": "gift_card"},
    ),
    EventType(
        "fulfilment.done",
        subject="ful",
        description="The business delivered a queued reward, with its reference "
        "(reward.fulfilled follows).",
        payload=FulfilmentDone,
        example={"reward": _RWD, "reference": "GC-2026-0042", "actor": _ACTOR},
    ),
    EventType(
        "fulfilment.cancelled",
        subject="ful",
        description="A queued reward was reversed before it was delivered: nothing is left "
        "to deliver.",
        payload=FulfilmentData,
        example={"reward": _RWD},
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
    EventType(
        "payout_batch.created",
        subject="pob",
        description="A draft payout batch was proposed: one payout per participant owed at "
        "least its minimum; nothing moved yet.",
        payload=PayoutBatchCreated,
        example={
            "currency": "USD",
            "min_amount": 2000,
            "payouts": 3,
            "amount": 12500,
            "actor": _ACTOR,
        },
    ),
    EventType(
        "payout_batch.approved",
        subject="pob",
        description="A payout batch was approved: each payout's cash moved from payable to "
        "paying, to be paid outside Goodword.",
        payload=PayoutBatchApproved,
        example={"payouts": 3, "amount": 12500, "dropped": [], "lowered": [], "actor": _ACTOR},
    ),
    EventType(
        "payout_batch.closed",
        subject="pob",
        description="Every payout of the batch is paid or failed.",
        payload=PayoutBatchClosed,
        example={"paid": 2, "failed": 1, "amount": 9500, "actor": _ACTOR},
    ),
    EventType(
        "payout_batch.cancelled",
        subject="pob",
        description="A draft payout batch was thrown away; nothing had moved.",
        payload=PayoutBatchCancelled,
        example={"actor": _ACTOR},
    ),
    EventType(
        "payout.paid",
        subject="pay",
        description="A payout was marked paid with the business's reference.",
        payload=PayoutPaid,
        example={
            "batch": _POB,
            "participant": _PAR,
            "amount": 4500,
            "currency": "USD",
            "reference": "PAYPAL-5TY0R2",
            "actor": _ACTOR,
        },
    ),
    EventType(
        "payout.failed",
        subject="pay",
        description="A payout could not be paid: its cash is owed to the participant again.",
        payload=PayoutFailed,
        example={
            "batch": _POB,
            "participant": _PAR,
            "amount": 3000,
            "currency": "USD",
            "reason": "PayPal account unconfirmed",
            "actor": _ACTOR,
        },
    ),
    EventType(
        "coupon_pool.created",
        subject="cpl",
        description="A coupon pool was created, to hold codes made in the shop.",
        payload=CouponPoolCreated,
        example={"name": "Spring 15% codes", "low_threshold": 50},
    ),
    EventType(
        "coupon_pool.updated",
        subject="cpl",
        description="A coupon pool's name or low threshold changed.",
        payload=FieldsChanged,
        example={"fields": ["low_threshold"]},
    ),
    EventType(
        "coupon_pool.codes_added",
        subject="cpl",
        description="Codes were uploaded to a coupon pool; rewards waiting for it get theirs "
        "(reward.fulfilled).",
        payload=CouponCodesAdded,
        example={"added": 500, "duplicates": 2},
    ),
    EventType(
        "coupon_pool.low",
        subject="cpl",
        description="A coupon pool's codes left fell to its low threshold: upload more. Sent "
        "once, until codes are added above the threshold again.",
        payload=CouponPoolLow,
        example={"left": 50, "low_threshold": 50},
    ),
    EventType(
        "coupon_pool.empty",
        subject="cpl",
        description="A coupon reward found its pool empty: it waits (`pending_fulfilment`) "
        "until codes are uploaded. Sent for each reward that starts waiting.",
        payload=CouponPoolEmpty,
        example={"reward": _RWD, "waiting": 3},
    ),
    EventType(
        "coupon.revoked",
        subject="rwd",
        description="A coupon reward was reversed after its code was issued: the code must no "
        "longer be honoured.",
        payload=CouponRevoked,
        example={"referral": _REF, "code": "FRIEND-7KQ2MXH4PA", "pool": None},
    ),
    EventType(
        "coupon.used",
        subject="rwd",
        description="An order carried an issued coupon reward's code for the first time: the "
        "beneficiary used the offer (the reward's `coupon_used_at`).",
        payload=CouponUsed,
        example={"code": "FRIEND-7KQ2MXH4PA", "order_id": "order-1002", "event": "evt_..."},
    ),
    EventType(
        "webhook_endpoint.created",
        subject="whe",
        description="An outbound webhook endpoint was added; it receives the events recorded "
        "from then on, this one included.",
        payload=WebhookEndpointCreated,
        example={"url": "https://example.com/hooks/goodword", "event_types": ["reward.approved"]},
    ),
    EventType(
        "webhook_endpoint.updated",
        subject="whe",
        description="An outbound webhook endpoint's URL, event types or description changed, or "
        "it was turned off or on by hand.",
        payload=FieldsChanged,
        example={"fields": ["active", "event_types"]},
    ),
    EventType(
        "webhook_endpoint.deleted",
        subject="whe",
        description="An outbound webhook endpoint was deleted with its messages and delivery log.",
        payload=WebhookEndpointUrl,
        example={"url": "https://example.com/hooks/goodword"},
    ),
    EventType(
        "webhook_endpoint.disabled",
        subject="whe",
        description="Goodword turned an outbound webhook endpoint off (a staff alert): the "
        "receiver answered 410 Gone, or no delivery succeeded for 3 days. Its pending messages "
        "wait until it is turned on again.",
        payload=WebhookEndpointDisabled,
        example={"reason": "failing", "url": "https://example.com/hooks/goodword"},
    ),
    EventType(
        "webhook_endpoint.secret_rotated",
        subject="whe",
        description="An outbound webhook endpoint got a new signing secret; the previous one "
        "signs too until its grace period ends.",
        payload=WebhookSecretRotated,
        example={"previous_expires_at": "2026-03-05T09:00:00Z"},
    ),
    EventType(
        "messaging.updated",
        subject="ws",
        description="The workspace's messaging settings changed (`PATCH /messaging`): turned "
        "on or off, the sender, the brand, the language, quiet hours or the weekly cap.",
        payload=MessagingUpdated,
        example={"fields": ["brand_color", "is_active"], "actor": _ACTOR},
    ),
    EventType(
        "program.messaging_updated",
        subject="prg",
        description="A program's messages changed: a journey's setting (`PUT /programs/{id}/"
        "journeys/{journey}`), or its own wording of a journey in a language, saved or deleted "
        "(`/programs/{id}/templates/{journey}/{language}`).",
        payload=ProgramMessagingUpdated,
        example={
            "journey": "referral_request",
            "language": "en",
            "fields": ["html", "subject"],
            "version": 3,
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

"""What the sender reads for a claim: every fact its messages' decisions and contents need,
read once for all of them (a bounded number of queries per claim, whatever its size)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count

from goodword.accounts.models import Workspace
from goodword.lib.emails import normalize_email
from goodword.messaging import journeys, phones, reminders
from goodword.messaging.models import (
    Journey,
    JourneySetting,
    Message,
    MessageTemplate,
    MessagingSettings,
    Suppression,
)
from goodword.participants.models import Participant
from goodword.programs.models import Program, RewardRule
from goodword.referrals.models import Invite, Referral
from goodword.rewards.models import Reward


@dataclass
class Loaded:
    """The facts of a claim, read once for all its messages."""

    settings: dict[int, MessagingSettings]
    workspaces: dict[int, str]
    journeys: dict[tuple[int, str], JourneySetting]
    people: dict[int, Participant]
    programs: dict[int, Program]
    suppressed: dict[tuple[int, str], str]
    sent: Counter[int]
    rewards: dict[str, Reward]
    friends: dict[str, Participant]
    invites: dict[str, Invite]
    # Marketing messages sent to an address (a friend invite's) in the last 7 days, by
    # (workspace, address): the weekly cap of someone who is not a participant.
    sent_to: Counter[tuple[int, str]]
    # The programs' own wording, by (program, journey, language), and active rules (oldest
    # first): read once here, not once per message.
    templates: dict[tuple[int, str, str, str], MessageTemplate]
    rules: dict[int, list[RewardRule]]
    # Reminders: who they are about and whether the person acted (`reminders.Loaded`).
    reminded: reminders.Loaded
    # Text messages: the people's numbers (E.164, "" when none we can text), the numbers'
    # suppressions by (workspace, number), and marketing texts sent per person in 7 days (the
    # weekly cap counts each channel on its own).
    phones: dict[int, str] = field(default_factory=dict)
    texts_suppressed: dict[tuple[int, str], str] = field(default_factory=dict)
    texts_sent: Counter[int] = field(default_factory=Counter)

    @classmethod
    def load(cls, claimed: list[Message], now: datetime) -> Loaded:
        workspace_ids = {m.workspace_id for m in claimed}
        people = Participant.objects.in_bulk(
            {m.participant_id for m in claimed if m.participant_id}
        )
        programs = Program.objects.in_bulk({m.program_id for m in claimed if m.program_id})
        invites = {
            i.public_id: i
            for i in Invite.objects.filter(
                public_id__in={invite_id(m) for m in claimed} - {""}
            ).select_related("advocate__participant")
        }
        emails = {normalize_email(p.email) for p in people.values() if p.email}
        emails |= {i.email_normalized for i in invites.values()}
        suppressed = {
            (w, a): r
            for w, a, r in Suppression.objects.filter(
                workspace_id__in=workspace_ids, channel="email", address__in=emails
            ).values_list("workspace_id", "address", "reason")
        }
        sent = Counter(
            dict(
                Message.objects.filter(
                    participant_id__in=list(people),
                    channel="email",
                    status=Message.Status.SENT,
                    transactional=False,
                    sent_at__gte=now - journeys.WEEK,
                )
                .values("participant_id")
                .annotate(n=Count("pk"))
                .values_list("participant_id", "n")
            )
        )
        referrals = Referral.objects.filter(
            public_id__in={m.referral_public_id for m in claimed if m.journey == Journey.THANK_YOU}
        ).select_related("referee")
        texting = {m.participant_id for m in claimed if m.channel == "sms" and m.participant_id}
        found = {
            s.workspace_id: s
            for s in MessagingSettings.objects.filter(workspace_id__in=workspace_ids)
        }
        numbers = {
            pk: phones.phone_of(people[pk].attributes, region=_region(found, people[pk]))
            for pk in texting
            if pk in people
        }
        return cls(
            phones=numbers,
            texts_suppressed=_texts_suppressed(workspace_ids, set(numbers.values()) - {""}),
            texts_sent=_texts_sent(texting, now),
            settings=found,
            workspaces=dict(
                Workspace.objects.filter(pk__in=workspace_ids).values_list("pk", "name")
            ),
            journeys={
                (s.program_id, s.journey): s
                for s in JourneySetting.objects.filter(program_id__in=list(programs))
            },
            people=people,
            programs=programs,
            suppressed=suppressed,
            sent=sent,
            rewards={
                r.public_id: r
                for r in Reward.objects.filter(
                    public_id__in={m.reward_public_id for m in claimed if m.reward_public_id}
                )
            },
            friends={r.public_id: r.referee for r in referrals},
            invites=invites,
            templates={
                (t.program_id, t.journey, t.language, t.segment): t
                for t in MessageTemplate.objects.filter(program_id__in=list(programs))
            },
            rules=_rules(programs),
            sent_to=_sent_to(workspace_ids, {i.email for i in invites.values()}, now),
            reminded=reminders.Loaded.load(claimed),
        )


def _rules(programs: dict[int, Program]) -> dict[int, list[RewardRule]]:
    rules: dict[int, list[RewardRule]] = defaultdict(list)
    active = RewardRule.objects.filter(program_id__in=list(programs), is_active=True)
    for rule in active.order_by("pk"):
        rules[rule.program_id].append(rule)
    return rules


def _texts_suppressed(workspace_ids: set[int], numbers: set[str]) -> dict[tuple[int, str], str]:
    if not numbers:
        return {}
    rows = Suppression.objects.filter(
        workspace_id__in=workspace_ids, channel="sms", address__in=numbers
    ).values_list("workspace_id", "address", "reason")
    return {(w, a): r for w, a, r in rows}


def _texts_sent(people: set[int], now: datetime) -> Counter[int]:
    if not people:
        return Counter()
    rows = (
        Message.objects.filter(
            participant_id__in=people,
            channel="sms",
            status=Message.Status.SENT,
            transactional=False,
            sent_at__gte=now - journeys.WEEK,
        )
        .values("participant_id")
        .annotate(n=Count("pk"))
        .values_list("participant_id", "n")
    )
    return Counter(dict(rows))


def _sent_to(
    workspace_ids: set[int], addresses: set[str], now: datetime
) -> Counter[tuple[int, str]]:
    if not addresses:
        return Counter()
    rows = (
        Message.objects.filter(
            workspace_id__in=workspace_ids,
            to__in=addresses,
            status=Message.Status.SENT,
            transactional=False,
            sent_at__gte=now - journeys.WEEK,
        )
        .values("workspace_id", "to")
        .annotate(n=Count("pk"))
        .values_list("workspace_id", "to", "n")
    )
    return Counter({(w, to): n for w, to, n in rows})


def invite_id(message: Message) -> str:
    """The public id of a friend invite's Invite; "" for other messages."""
    if message.journey != Journey.FRIEND_INVITE or not isinstance(message.data, dict):
        return ""
    return str(message.data.get("invite") or "")


def _region(found: dict[int, MessagingSettings], person: Participant) -> str | None:
    """The workspace's country for numbers written without a country code, or None."""
    settings = found.get(person.workspace_id)
    return (settings.phone_region or None) if settings else None

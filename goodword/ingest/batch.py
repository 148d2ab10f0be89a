"""One batch of events in memory: load its facts, apply each event in business-time order
through the decision core, and keep track of what must be written.

The rows of the batch's people (participants, their referrals and rewards) are held as model
instances; applying an event re-decides each of the friend's referrals from the friend's
whole history (`decisions.decide_friend`) and brings the rows in line with the decision,
recording a domain event for every change. `write.flush` then writes the changes in bulk.

A referral whose rewards were approved is *settled*: a late event no longer re-decides it;
only a refund of its order still reverses it (a clawback, through `rewards.services`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from goodword.decisions import facts
from goodword.decisions.decide import decide_follow_ons, decide_friend
from goodword.ingest import load
from goodword.ingest.models import Event
from goodword.ingest.rows import Changes, Group, Item, referral_summary, reward_summary
from goodword.ingest.schemas import EventIn
from goodword.lib import ids, sql
from goodword.lib.codes import normalize_code
from goodword.lib.emails import normalize_email
from goodword.lib.errors import Invalid
from goodword.lib.signing import RefToken, read_ref_token
from goodword.participants.models import Participant
from goodword.programs import counters
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward

# Events that may trigger a rule after the conversion, as the decision core names them.
OCCASIONS = {"subscription_payment": "subscription_payment", "nps": "nps", "custom": "event"}
NEEDS_HISTORY = {"refund", *OCCASIONS}


@dataclass
class Friend:
    person: Participant
    key: int  # the participant's id, or a negative stand-in until a new one is inserted
    history: list[Event] | None  # None: not loaded (nothing about them is open to decide)
    bought_before: datetime | None = None  # their first past order imported as history
    groups: dict[int, Group] = field(default_factory=dict)
    changed: bool = False
    applied: bool = False  # an accepted event is about them (a refused one adds no one)


def _coupons_on(data: EventIn) -> list[str]:
    """The coupon codes an order used, if the event is one that may attribute."""
    if data.type == "refund" or data.order is None:
        return []
    return data.order.coupons or []


class Batch:
    def __init__(self, *, workspace_id: int, source: str, now: datetime) -> None:
        self.workspace_id, self.source, self.now = workspace_id, source, now
        self.friends: dict[str, Friend] = {}
        self.advocates: dict[int, load.AdvocateRow] = {}
        self.programs: dict[int, load.ProgramRow] = {}
        self.changes = Changes(
            workspace_id=workspace_id, now=now, advocates=self.advocates, programs=self.programs
        )

    # --- load ----------------------------------------------------------------------------

    def load_facts(self, items: list[Item]) -> None:
        ws = self.workspace_id
        external_ids = sorted({item.data.customer.external_id for item in items})
        people = load.participants(ws, external_ids)
        used = {i.index: _coupons_on(i.data) for i in items}
        codes = sorted(
            {normalize_code(i.data.referral_code) for i in items if i.data.referral_code}
            | {normalize_code(code) for found in used.values() for code in found}
        )
        issued = load.coupons(
            ws,
            sorted({c for found in used.values() for code in found for c in (code, code.upper())}),
        )
        tokens = {i.index: read_ref_token(i.data.ref_token) for i in items if i.data.ref_token}
        by_code, by_token = load.advocates(
            ws, codes=codes, public_ids=sorted({t.advocate_id for t in tokens.values() if t})
        )
        referrals, referrers = load.referrals(ws, sorted(p.pk for p in people.values()))
        referred = {r.referee_id for r in referrals}
        # An invite only matters to a friend nobody has referred yet.
        emails = sorted(
            {
                normalize_email(i.data.customer.email)
                for i in items
                if i.data.customer.email
                and not i.data.referral_code
                and i.data.type != "refund"
                and getattr(people.get(i.data.customer.external_id), "pk", None) not in referred
            }
        )
        invites = load.first_invites(ws, emails)
        coupons = {
            item.index: self._coupons(item, used[item.index], by_code, issued) for item in items
        }
        candidates = {
            item.index: self._candidates(item, by_code, by_token, tokens, invites, coupons)
            for item in items
        }
        # Only a referral that converted has rewards.
        rewarded = [r.pk for r in referrals if r.converted_at is not None]
        rewards = load.rewards(rewarded)
        # A touch may re-decide a friend's referrals, and a refund or an occasion may change
        # settled rewards: they need the friend's history.
        touched_by = {
            item.data.customer.external_id
            for item in items
            if candidates[item.index] or item.data.type in NEEDS_HISTORY
        }
        for number, external_id in enumerate(external_ids, start=1):
            person = people.get(external_id) or self._new_person(external_id)
            self.friends[external_id] = Friend(person, person.pk or -number, history=None)
        self._group(referrals, rewards)
        open_ = [
            ext
            for ext, friend in self.friends.items()
            if friend.person.pk is not None
            and (ext in touched_by or any(self._is_open(g) for g in friend.groups.values()))
        ]
        for friend in self.friends.values():
            if friend.person.pk is None or friend.person.external_id in open_:
                friend.history = []
        for event in load.history(ws, open_):
            history = self.friends[event.customer_external_id].history
            assert history is not None  # noqa: S101 - loaded for exactly these
            history.append(event)
        for external_id, at in load.bought_before(ws, open_).items():
            self.friends[external_id].bought_before = at
        known = {a.facts.id for a in (*by_code.values(), *by_token.values(), *referrers.values())}
        known |= {row.facts.id for row, _ in invites.values()}
        known |= {c.advocate.facts.id for c in issued.values() if c.advocate is not None}
        wanted = {
            e.advocate_id
            for f in self.friends.values()
            for e in f.history or ()
            if e.advocate_id is not None
        }
        self.advocates.update(load.advocates_by_id(ws, sorted(wanted - known)))
        invited = (a for a, _ in invites.values())
        by_coupon = (c.advocate for c in issued.values() if c.advocate is not None)
        for row in (
            *referrers.values(),
            *by_code.values(),
            *by_token.values(),
            *invited,
            *by_coupon,
        ):
            self.advocates[row.facts.id] = row
        self.programs.update(
            load.programs(
                ws,
                [a.facts.program for a in self.advocates.values()]
                + [r.program_id for r in referrals],
            )
        )
        for item in items:
            self._resolve_touch(item, candidates[item.index])
        if any(self._may_grant(item) for item in items if item.error is None):
            self._load_counts(items)

    def _may_grant(self, item: Item) -> bool:
        """Could deciding after this event grant a reward? Not a signup in a program that
        converts on a purchase, of a friend who has bought nothing: then nothing it decides
        reads the counters, and it need not wait for their locks."""
        if item.data.type != "signup" or any(
            p.facts.trigger == "signup" for p in self.programs.values()
        ):
            return True
        history = self.friends[item.data.customer.external_id].history
        return history is not None and any(e.type != Event.Type.SIGNUP for e in history)

    def _load_counts(self, items: list[Item]) -> None:
        """The counters capped rules, tiers and milestones read (`programs.counters`), under a
        lock on the scopes they count in, so racing batches decide one after the other."""
        tiered = {
            p.facts.id
            for p in self.programs.values()
            if p.facts.tiers or any(r.is_milestone for r in p.facts.rules)
        }
        capped = [(p.facts.id, r) for p in self.programs.values() for r in p.facts.rules if r.caps]
        if not capped and not tiered:
            return
        rules = {rule.id: program for program, rule in capped}
        self.changes.capped = {rule.id: {cap.per for cap in rule.caps} for _, rule in capped}
        advocates = sorted({a.facts.participant for a in self.advocates.values()})
        scopes: dict[str, list[int]] = {"advocate": advocates, "friend": [], "program": [0]}
        pers_of = self.changes.capped
        locks = [(r, a) for r, pers in pers_of.items() if "advocate" in pers for a in advocates]
        locks += [(r, 0) for r, pers in pers_of.items() if "program" in pers]
        locks += [(-p, a) for p in tiered for a in advocates]  # negative: not a rule id
        load.lock_caps(locks)
        keys = [
            (rules[r], r, per, scope)
            for r, pers in pers_of.items()
            for per in pers
            for scope in scopes[per]
        ]
        keys += [counters.referral_key(p, a) for p in tiered for a in advocates]
        stored = counters.read(self.workspace_id, keys, since=self._since(items))
        for (program, rule, scope, scope_id), days in stored.items():
            counts = {
                None if day == counters.LIFETIME else datetime(*day.timetuple()[:3], tzinfo=UTC): v
                for day, v in days.items()
            }
            if scope == "referrals":
                self.changes.referrals[(program, scope_id)] = counts
            else:
                self.changes.usage[(rule, scope, scope_id)] = counts

    def _since(self, items: list[Item]) -> date:
        """The first day a windowed cap or tier may count: days before it are not read."""
        longest = 0
        for program in self.programs.values():
            for rule in program.facts.rules:
                for cap in rule.caps:
                    if cap.period != "lifetime":
                        longest = max(longest, {"month": 31, "year": 366}.get(cap.period, cap.days))
            if program.facts.tiers and program.facts.tiers.period != "lifetime":
                longest = max(longest, 366)
        if not longest:
            return date.max  # all time only
        return (min(i.event.occurred_at for i in items) - timedelta(days=longest)).date()

    def _candidates(
        self,
        item: Item,
        by_code: dict[str, load.AdvocateRow],
        by_token: dict[str, load.AdvocateRow],
        tokens: dict[int, RefToken | None],
        invites: dict[str, tuple[load.AdvocateRow, datetime]],
        coupons: dict[int, load.AdvocateRow | None],
    ) -> list[tuple[load.AdvocateRow, str, datetime, str]]:
        """The ways this event may attribute, in precedence order: code, token, a coupon code
        used on the order, invite."""
        data, occurred = item.data, item.event.occurred_at
        if data.referral_code:
            advocate = by_code.get(normalize_code(data.referral_code))
            if advocate is None:
                item.error = Invalid(
                    f"referral_code {data.referral_code!r} matches no advocate in this workspace",
                    code="unknown_referral_code",
                )
                return []
            return [] if data.type == "refund" else [(advocate, Referral.Source.CODE, occurred, "")]
        if data.type == "refund":
            return []
        out: list[tuple[load.AdvocateRow, str, datetime, str]] = []
        token = tokens.get(item.index)
        if data.ref_token:
            found = by_token.get(token.advocate_id) if token else None
            if token and found:
                at = min(token.issued_at, occurred)
                out.append((found, Referral.Source.TOKEN, at, token.click_id))
            else:
                item.attribution = "invalid_token"
        if (by_coupon := coupons.get(item.index)) is not None:
            out.append((by_coupon, Referral.Source.COUPON, occurred, ""))
        if data.customer.email:
            invite = invites.get(normalize_email(data.customer.email))
            if invite is not None:
                out.append((invite[0], Referral.Source.EMAIL, min(invite[1], occurred), ""))
        return out

    def _coupons(
        self,
        item: Item,
        used: list[str],
        by_code: dict[str, load.AdvocateRow],
        issued: dict[str, load.CouponRow],
    ) -> load.AdvocateRow | None:
        """The advocate the first attributing code on the order names; the coupons Goodword
        issued that the order used are marked used (the friend took the offer)."""
        advocate = None
        for code in used:
            reward = issued.get(code) or issued.get(code.upper())
            if reward is not None and not reward.used:
                self.changes.coupons_used.setdefault(reward.reward, (reward, code, item))
            found = by_code.get(normalize_code(code)) or (reward.advocate if reward else None)
            advocate = advocate or found
        return advocate

    def _resolve_touch(
        self, item: Item, candidates: list[tuple[load.AdvocateRow, str, datetime, str]]
    ) -> None:
        occurred = item.event.occurred_at
        for advocate, source, at, click_id in candidates:
            program = self.programs[advocate.facts.program]
            if not program.is_active:
                item.attribution = "program_inactive"
            elif occurred > at + timedelta(days=program.facts.attribution_days):
                item.attribution = "expired"
            else:
                item.advocate = advocate
                event = item.event
                event.advocate_id, event.touched_at = advocate.facts.id, at
                event.touch_source, event.click_id = source, click_id
                return
            if source == Referral.Source.CODE:
                return  # an explicit code decides: no falling back to a token or an invite

    def _new_person(self, external_id: str) -> Participant:
        person = sql.instance(
            Participant,
            public_id=ids.new_par_id(),
            workspace_id=self.workspace_id,
            external_id=external_id,
            attributes={},
            purchase_count=0,
            first_purchase_at=None,
            nps_score=None,
            nps_at=None,
            created_at=self.now,
            updated_at=self.now,
            test=True,  # until a live event about them is applied (`_update_person`)
        )
        person.pk = None
        return person

    def _group(self, referrals: list[Referral], rewards: list[Reward]) -> None:
        by_referral: dict[int, list[Reward]] = {}
        for reward in rewards:  # a referral's rewards: each has its referral and its rule
            if reward.referral_id is None or reward.rule_id is None:
                continue
            by_referral.setdefault(reward.referral_id, []).append(reward)
            self.changes.reward_status[reward.pk] = reward.status
        friends = {f.person.pk: f for f in self.friends.values() if f.person.pk is not None}
        for referral in referrals:
            self.changes.referral_status[referral.pk] = referral.status
            friend = friends[referral.referee_id]
            group = friend.groups.setdefault(referral.program_id, Group(referral.program_id))
            group.referrals[referral.advocate_id] = referral
            mine = by_referral.get(referral.pk, [])
            group.rewards[referral.public_id] = {
                (r.rule_id or 0, r.beneficiary, r.trigger_event): r for r in mine
            }
            if referral.status == Referral.Status.REWARDED or any(
                r.approved_at is not None for r in mine
            ):
                group.settled = True

    @staticmethod
    def _is_open(group: Group) -> bool:
        """Could a new event change this group? Not once settled, nor when all it holds is
        rejected (only a new touch, which loads the history anyway, could change that)."""
        return not group.settled and any(
            r.status != Referral.Status.REJECTED for r in group.referrals.values()
        )

    # --- apply ---------------------------------------------------------------------------

    def apply(self, item: Item) -> None:
        """Apply one event: update the friend, re-decide their open referrals, answer."""
        data, event = item.data, item.event
        friend = self.friends[data.customer.external_id]
        friend.applied = True
        if event.test and not friend.person.test:
            # A live customer's facts hold no test event: this one is recorded and answered,
            # and touches no one (attribution models read the events' touches too).
            item.ignored, item.attribution = True, "test_ignored"
            event.advocate_id, event.touched_at, event.touch_source, event.click_id = (
                None, None, "", ""
            )  # fmt: skip
            event.result = self._result(item, friend)
            return
        self._update_person(friend, data, event)
        if friend.history is not None:
            friend.history.append(event)
        if item.advocate is not None:
            friend.groups.setdefault(
                item.advocate.facts.program, Group(item.advocate.facts.program)
            )
        for program_id, group in friend.groups.items():
            if friend.history is None:
                self._settled(group, item)
            elif group.settled:
                self._settled(group, item, self._facts(friend, program_id))
            else:
                # The group's own rewards do not count against its caps: it is decided anew.
                self.changes.count_group(group, -1)
                decision = decide_friend(self._facts(friend, program_id))
                self.changes.align(
                    group, decision.referrals, item, referee=friend.key, test=friend.person.test
                )
                self.changes.count_group(group, 1)
                if item.advocate is not None and item.advocate.facts.program == program_id:
                    item.attribution = decision.attribution.get(event.public_id, "attributed")
        event.result = self._result(item, friend)

    def _update_person(self, friend: Friend, data: EventIn, event: Event) -> None:
        person, customer = friend.person, data.customer
        values: dict[str, Any] = {}
        if person.test and not data.test:
            values["test"] = False  # a live event: a real customer, for good
        if customer.email is not None:
            values["email"] = customer.email.strip()
            values["email_normalized"] = normalize_email(customer.email)
        if customer.name is not None:
            values["name"] = customer.name
        if customer.attributes:
            values["attributes"] = {**person.attributes, **customer.attributes}
        if data.type == "nps" and (person.nps_at is None or event.occurred_at >= person.nps_at):
            values["nps_score"], values["nps_at"] = data.score, event.occurred_at
        if data.type == "purchase":
            values["purchase_count"] = person.purchase_count + 1
            first = person.first_purchase_at
            values["first_purchase_at"] = (
                min(first, event.occurred_at) if first else event.occurred_at
            )
        for name, value in values.items():
            if getattr(person, name) != value:
                setattr(person, name, value)
                friend.changed = True

    def _facts(self, friend: Friend, program_id: int) -> facts.FriendFacts:
        touches, signups, purchases, refunds, occasions = [], [], [], [], []
        live = not friend.person.test
        for e in friend.history or ():
            if live and e.test:
                continue  # see `apply`: a live customer is decided on live events only
            key, at = e.public_id, e.occurred_at
            advocate = self.advocates.get(e.advocate_id) if e.advocate_id else None
            if advocate is not None and advocate.facts.program == program_id and e.touched_at:
                touches.append(
                    facts.Touch(key, e.touched_at, at, advocate.facts, e.touch_source, e.click_id)
                )
            if e.type == Event.Type.SIGNUP:
                signups.append(facts.Signup(key, at))
            elif e.type == Event.Type.PURCHASE and e.amount is not None:
                items = (e.payload.get("order") or {}).get("items") or ()
                products = tuple(i["product_id"] for i in items)
                categories = tuple(i["category_id"] for i in items if i.get("category_id"))
                purchases.append(
                    facts.Purchase(key, at, e.order_id, e.amount, e.currency, products, categories)
                )
            elif e.type == Event.Type.REFUND:
                refunds.append(facts.Refund(key, at, e.order_id, e.amount, e.external_id))
            if e.type in OCCASIONS:
                name = str(e.payload.get("name") or "")
                occasions.append(
                    facts.Occasion(
                        key, at, OCCASIONS[e.type], name, e.order_id, e.amount, e.currency
                    )
                )
        return facts.FriendFacts(
            friend=friend.key,
            friend_email=friend.person.email_normalized,
            friend_attributes=friend.person.attributes,
            bought_before=friend.bought_before,
            program=self.programs[program_id].facts,
            usage=self.changes.usage_of(self.programs[program_id].facts.rules),
            referrals=self.changes.referrals_of(program_id),
            touches=tuple(touches),
            signups=tuple(signups),
            purchases=tuple(purchases),
            refunds=tuple(refunds),
            occasions=tuple(occasions),
        )

    def _settled(self, group: Group, item: Item, now: facts.FriendFacts | None = None) -> None:
        """A settled group changes only by a refund of its order; a touch finds it locked.

        What a refund takes back is the difference it makes to the decision: the decision
        with the refund (`now`) against the one without it.
        """
        event = item.event
        for referral in group.referrals.values():
            if referral.status == Referral.Status.REJECTED:
                continue
            converted = referral.status in (Referral.Status.CONVERTED, Referral.Status.REWARDED)
            if item.data.type in NEEDS_HISTORY:
                if now is None or not converted:
                    continue
                if item.data.type == "refund" and referral.order_id == event.order_id:
                    self._refund_settled(group, referral, item, now)
                else:
                    self._follow_ons_settled(group, referral, item, now)
            elif item.advocate is not None and item.advocate.facts.program == group.program_id:
                same = referral.advocate_id == item.advocate.facts.id
                item.attribution = "attributed" if same else "locked_to_first_advocate"
                item.touched.append((referral, ""))

    def _refund_settled(
        self, group: Group, referral: Referral, item: Item, now: facts.FriendFacts
    ) -> None:
        refund = item.event.public_id
        # A settled referral is decided on its own conversion only: later events, however
        # early in business time, no longer move it; the refunds of its order still do.
        order = [p for p in now.purchases if p.order_id == referral.order_id][:1]
        refunds = tuple(r for r in now.refunds if r.order_id == referral.order_id)
        advocate = self.advocates[referral.advocate_id].facts
        touch = facts.Touch("", referral.first_touch_at, referral.created_at, advocate, "code")
        alone = replace(
            now, touches=(touch,), signups=(), purchases=tuple(order), usage={}, occasions=(),
            bought_before=None,
        )  # fmt: skip
        before = replace(alone, refunds=tuple(r for r in refunds if r.event != refund))
        refunded = sum(r.amount or referral.order_amount or 0 for r in refunds)
        if refunded >= (referral.order_amount or 0):
            # The whole order is back: everything it earned goes, whatever the rules say now.
            item.touched.append((referral, ""))
            self.changes.clawbacks.append(referral)
            referral.status = Referral.Status.REVERSED
            return
        plans = [decide_friend(f).referrals for f in (before, replace(alone, refunds=refunds))]
        if any(len(p) != 1 for p in plans) or plans[0] == plans[1]:
            return
        [plan_before], [plan_after] = plans
        item.touched.append((referral, ""))
        earlier = {g.key: g for g in plan_before.grants}
        for grant in plan_after.grants:
            reward = group.rewards[referral.public_id].get(grant.key)
            old = earlier.get(grant.key)
            if reward is None or old is None or old.reversed_at is not None:
                continue
            reward.referral = referral
            amount, was = grant.amount or 0, old.amount or 0
            if grant.reversed_at is not None:
                self.changes.settlements.append((reward, 0, was, refund))
            elif amount < was:
                self.changes.settlements.append((reward, amount, was - amount, refund))

    def _follow_ons_settled(
        self, group: Group, referral: Referral, item: Item, now: facts.FriendFacts
    ) -> None:
        """A settled referral still earns from occasions after its conversion, and a refund of
        a payment takes back what that payment earned. Its rewards are not re-decided
        otherwise: the arriving occasion adds its own reward, if any (a once-only rule's if it
        has none yet), and a refund changes what the decisions before and after it differ on."""
        event = item.event.public_id
        advocate = self.advocates[referral.advocate_id].facts
        assert referral.converted_at is not None  # noqa: S101 - only converted ones come here
        base = facts.ReferralPlan(
            advocate=advocate,
            source=referral.source,
            click_id=referral.click_id,
            opened_by="",
            created_at=referral.created_at,
            clicked_at=referral.clicked_at,
            status="converted",
            converted_at=referral.converted_at,
        )
        have = group.rewards.setdefault(referral.public_id, {})
        # Its own rewards do not count against the caps of what it may still earn or keep.
        self.changes.count_group(group, -1)
        rules = {rule.id: rule for rule in now.program.rules}
        now = replace(now, usage=self.changes.usage_of(now.program.rules))
        plan = decide_follow_ons(now, base)
        if item.data.type == "refund":
            changed = self._payment_refunded(have, now, base, plan, item)
        else:
            changed = False
            for grant in plan.grants:
                if grant.occasion != event or grant.reversed_at is not None:
                    continue  # only the arriving occasion adds a reward
                kept = self._unspent(rules[grant.rule], have, grant)
                if kept is not None:
                    self.changes.add_reward(group, referral, kept, item)
                    changed = True
        self.changes.count_group(group, 1)
        if changed or event in plan.events:
            item.touched.append((referral, plan.notes.get(event, "")))

    def _payment_refunded(
        self,
        have: dict[tuple[int, str, str], Reward],
        now: facts.FriendFacts,
        base: facts.ReferralPlan,
        after: facts.ReferralPlan,
        item: Item,
    ) -> bool:
        """What a refund of a payment takes back of that payment's rewards: the difference
        the refund makes to the decision (before it, and with it)."""
        event = item.event.public_id
        paid = {o.event for o in now.occasions if o.order_id == item.event.order_id}
        if not paid:
            return False
        without = tuple(r for r in now.refunds if r.event != event)
        earlier = {g.key: g for g in decide_follow_ons(replace(now, refunds=without), base).grants}
        changed = False
        for grant in after.grants:
            reward, old = have.get(grant.key), earlier.get(grant.key)
            if grant.occasion not in paid or reward is None or old is None or old.reversed_at:
                continue
            if reward.status in (Reward.Status.REVERSED, Reward.Status.REJECTED):
                continue
            less = (old.amount or 0) - (grant.amount or 0)
            if grant.reversed_at is not None:
                self.changes.settlements.append((reward, 0, reward.amount or 0, event))
            elif less > 0:
                left = max(0, (reward.amount or 0) - less)
                self.changes.settlements.append((reward, left, less, event))
            else:
                continue
            changed = True
        return changed

    @staticmethod
    def _unspent(
        rule: facts.Rule, have: dict[tuple[int, str, str], Reward], grant: facts.Grant
    ) -> facts.Grant | None:
        """What a settled referral may still get for an occasion beside the rule's rewards it
        already has: nothing more from a once-only rule (NPS, custom event) that paid, and for
        a recurring one what its `max_total` leaves (None: nothing)."""
        live = [
            r
            for (rule_id, beneficiary, occasion), r in have.items()
            if rule_id == rule.id
            and beneficiary == grant.beneficiary
            and occasion
            and r.status not in (Reward.Status.REVERSED, Reward.Status.REJECTED)
        ]
        if rule.trigger != "subscription_payment":
            return None if live else grant
        if rule.max_total is None:
            return grant
        left = rule.max_total - sum(r.amount or 0 for r in live)
        return replace(grant, amount=min(grant.amount or 0, left)) if left > 0 else None

    # --- answer --------------------------------------------------------------------------

    def _result(self, item: Item, friend: Friend) -> dict[str, Any]:
        event = item.event
        return {
            "id": event.public_id,
            "event_id": event.external_id,
            "type": event.type,
            "test": event.test,
            "participant": friend.person.external_id,
            "attribution": item.attribution,
            "referrals": [referral_summary(r, note) for r, note in item.touched],
            "rewards": [reward_summary(r) for r in item.granted],
        }

"""Every write to calls and post-call forms: the webhook, the sync, admin and the site call these."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.contacts.models import Contact, Provider
from apps.kpis.invalidation import rollups_invalidate
from apps.meetings.models import CallType, CallTypeRule, Meeting, PostCallForm, PostCallFormConfig
from apps.orgs.models import Organization, TeamMember, User
from apps.orgs.services import audit_log_write, team_member_link
from attribution import calls
from attribution.sources.calendly import InviteeEvent

# Statuses whose call did not take place as booked: never revived by a late event.
ENDED_STATUSES = (Meeting.Status.CANCELED, Meeting.Status.RESCHEDULED)
MAGIC_LINK_SALT = "meetings.magic-link"
DEFAULT_MAGIC_LINK_MAX_AGE = timedelta(days=7)
# A PCF is overdue this long after the call ended (org.settings["pcf_overdue_hours"] overrides).
DEFAULT_PCF_OVERDUE_HOURS = 24


class MeetingNotYetKnown(LookupError):
    """An event about an invitee we have not seen and cannot create from the payload: retry later."""


class PcfLocked(Exception):
    """The form was locked by a manager; nobody edits it until it is unlocked."""


# --- lifecycle --------------------------------------------------------------------------------


def meeting_upsert_from_invitee(
    *, org: Organization, event: InviteeEvent, contact: Contact | None
) -> Meeting:
    """Apply one Calendly invitee event; idempotent on (org, provider, invitee uri), any order.

    Events of one invitee (and of the two sides of a reschedule) may arrive in any order and more
    than once: a cancellation that beats its booking is kept, a late ``created`` never revives a
    canceled or rescheduled invitee, and whichever side of a reschedule comes second links both.
    """
    with transaction.atomic():
        meeting = _locked_meeting(org=org, event=event, contact=contact)
        if event.event_uri:  # a full invitee (a bare no-show body carries no booking details)
            _apply_booking_details(meeting, org=org, event=event, contact=contact)
        if event.kind == "created" and event.status == "canceled":
            # The nightly sync sees current state: a canceled invitee listed as "created".
            _apply_cancel(meeting, event=event)
        elif event.kind == "canceled":
            _apply_cancel(meeting, event=event)
        elif event.kind == "no_show_created":
            mark = event.no_show.created_at if event.no_show else None
            meeting.no_show_marked_at = mark or event.occurred_at
        elif event.kind == "no_show_deleted" and (
            # Only a deletion newer than the mark clears it (a replayed old deletion does not).
            meeting.no_show_marked_at is None or meeting.no_show_marked_at <= event.occurred_at
        ):
            meeting.no_show_marked_at = None
        _link_reschedule(meeting, org=org, event=event)
        # The related rows were just read or locked: no query per foreign key to check them.
        meeting.full_clean(
            exclude=["org", "contact", "rescheduled_to", "host", "closer", "setter"],
            validate_unique=False,
            validate_constraints=False,
        )
        meeting.save()
        if event.host_emails or event.host_user_uris:
            meeting_assign_credit(
                meeting=meeting,
                host_email=event.host_emails[0] if event.host_emails else None,
                host_uri=event.host_user_uris[0] if event.host_user_uris else None,
            )
        meeting_recompute_showed(meeting=meeting)
    return meeting


def _locked_meeting(*, org: Organization, event: InviteeEvent, contact: Contact | None) -> Meeting:
    lookup = {"org": org, "provider": Provider.CALENDLY, "external_id": event.invitee_uri}
    meeting = Meeting.objects.select_for_update().filter(**lookup).first()
    if meeting is None:
        scheduled_at = event.start_time
        if scheduled_at is None:
            raise MeetingNotYetKnown(
                f"no meeting for {event.invitee_uri} and no start time to make one"
            )
        try:
            # A savepoint, so losing the race to a concurrent delivery leaves our transaction
            # usable. A row we inserted stays ours (locked) until we commit.
            with transaction.atomic():
                return Meeting.objects.create(**lookup, contact=contact, scheduled_at=scheduled_at)
        except IntegrityError:
            meeting = Meeting.objects.select_for_update().get(**lookup)
    meeting.org = org  # the caller's org: credit and the show rule read it without a query
    return meeting


def _apply_booking_details(
    meeting: Meeting, *, org: Organization, event: InviteeEvent, contact: Contact | None
) -> None:
    if contact is not None:
        meeting.contact = contact
    meeting.event_uri = event.event_uri or meeting.event_uri
    meeting.event_type_uri = event.event_type_uri or meeting.event_type_uri
    meeting.event_name = (event.event_name or meeting.event_name)[:255]
    meeting.scheduled_at = event.start_time or meeting.scheduled_at
    meeting.ends_at = event.end_time or meeting.ends_at
    meeting.booked_at = event.created_at or meeting.booked_at
    for name in ("source", "medium", "campaign", "content", "term"):
        value = getattr(event.utm, name)
        if value:
            setattr(meeting, f"utm_{name}", value[:200])
    if event.questions_and_answers:
        meeting.questions = [
            {"question": qa.question, "answer": qa.answer, "position": qa.position}
            for qa in event.questions_and_answers
        ]
    if event.old_invitee_uri:
        meeting.replaces_external_id = event.old_invitee_uri
    meeting.call_type = classify_for_org(
        org=org, event_name=meeting.event_name, event_type_uri=meeting.event_type_uri
    )


def _apply_cancel(meeting: Meeting, *, event: InviteeEvent) -> None:
    if event.is_reschedule_cancellation:
        meeting.status = Meeting.Status.RESCHEDULED
    elif meeting.status != Meeting.Status.RESCHEDULED:
        meeting.status = Meeting.Status.CANCELED
    meeting.canceled_at = meeting.canceled_at or event.updated_at or event.occurred_at
    if event.cancellation is not None:
        kind = event.cancellation.canceler_type
        meeting.canceled_by = kind if kind in Meeting.CanceledBy.values else ""
        meeting.cancel_reason = event.cancellation.reason or ""


def _link_reschedule(meeting: Meeting, *, org: Organization, event: InviteeEvent) -> None:
    sides = Meeting.objects.for_org(org).filter(provider=Provider.CALENDLY)
    # Old side speaking: link to the new booking if it is already here.
    if meeting.status == Meeting.Status.RESCHEDULED and meeting.rescheduled_to_id is None:
        new = None
        if event.new_invitee_uri:
            new = sides.filter(external_id=event.new_invitee_uri).first()
        new = new or sides.filter(replaces_external_id=meeting.external_id).first()
        meeting.rescheduled_to = new
    # A booking that arrives after its replacement: it was rescheduled whatever its own events say.
    if meeting.status not in ENDED_STATUSES:
        newer = sides.filter(replaces_external_id=meeting.external_id).exclude(pk=meeting.pk)
        newer = newer.first()
        if newer is not None:
            meeting.status = Meeting.Status.RESCHEDULED
            meeting.rescheduled_to = newer
    # New side speaking: mark the old side now (it may never send its own cancel).
    if meeting.replaces_external_id:
        old = (
            sides.select_for_update()
            .filter(external_id=meeting.replaces_external_id)
            .exclude(pk=meeting.pk)
            .first()
        )
        if old is not None and (
            old.status != Meeting.Status.RESCHEDULED or old.rescheduled_to_id != meeting.pk
        ):
            old.status = Meeting.Status.RESCHEDULED
            old.rescheduled_to = meeting
            old.save(update_fields=["status", "rescheduled_to", "updated_at"])
            meeting_recompute_showed(meeting=old)


def meeting_mark_no_show(
    *, meeting: Meeting, marked: bool = True, actor: User | None = None
) -> Meeting:
    """A no-show mark set or cleared by hand (or by a provider without its own event)."""
    with transaction.atomic():
        meeting.no_show_marked_at = timezone.now() if marked else None
        meeting.save(update_fields=["no_show_marked_at", "updated_at"])
        if actor is not None:
            audit_log_write(
                org=meeting.org,
                actor=actor,
                action="meeting.mark_no_show",
                target=meeting,
                marked=marked,
            )
        meeting_recompute_showed(meeting=meeting)
    return meeting


def meeting_set_crm_outcome(*, meeting: Meeting, outcome: str | None) -> Meeting:
    """The CRM call activity matched to this meeting says showed / no_show (None clears it)."""
    value = outcome if outcome in ("showed", "no_show") else ""
    if meeting.crm_outcome != value:
        meeting.crm_outcome = value
        meeting.save(update_fields=["crm_outcome", "updated_at"])
    return meeting_recompute_showed(meeting=meeting)


def _showed_and_status(meeting: Meeting, *, assume: bool, now) -> tuple[bool, str]:
    pcf = PostCallForm.objects.filter(meeting=meeting).first() if meeting.pk else None
    return _resolve(meeting, pcf=pcf, assume=assume, now=now)


def _resolve(meeting: Meeting, *, pcf: PostCallForm | None, assume: bool, now) -> tuple[bool, str]:
    showed = calls.resolve_showed(
        pcf_lead_showed=pcf.lead_showed if pcf is not None else None,
        crm_outcome=meeting.crm_outcome or None,
        no_show_marked=meeting.no_show_marked_at is not None,
        canceled=meeting.status in ENDED_STATUSES,
        assume_show_without_outcome=assume,
    )
    status = meeting.status
    if status not in ENDED_STATUSES:
        has_outcome = (
            pcf is not None or bool(meeting.crm_outcome) or meeting.no_show_marked_at is not None
        )
        if has_outcome:
            status = Meeting.Status.COMPLETED if showed else Meeting.Status.NO_SHOW
        else:
            status = Meeting.Status.SCHEDULED
    return showed, status


def meeting_recompute_showed(*, meeting: Meeting) -> Meeting:
    """Store KPIS.md "showed" (and the status an outcome implies); call after any input changes."""
    showed, status = _showed_and_status(
        meeting, assume=meeting.org.assume_show_without_outcome, now=timezone.now()
    )
    if (showed, status) != (meeting.showed, meeting.status):
        meeting.showed, meeting.status = showed, status
        meeting.save(update_fields=["showed", "status", "updated_at"])
    return meeting


def org_recompute_showed(*, org: Organization, batch_size: int = 1000) -> int:
    """Re-resolve every meeting of the org (after assume_show_without_outcome changes)."""
    changed: list[Meeting] = []
    qs = Meeting.objects.for_org(org).select_related("pcf").order_by("pk")
    now = timezone.now()
    for meeting in qs.iterator(chunk_size=batch_size):
        pcf = getattr(meeting, "pcf", None) if _has_pcf(meeting) else None
        showed, status = _resolve(meeting, pcf=pcf, assume=org.assume_show_without_outcome, now=now)
        if (showed, status) != (meeting.showed, meeting.status):
            meeting.showed, meeting.status = showed, status
            changed.append(meeting)
    Meeting.objects.bulk_update(changed, ["showed", "status"], batch_size=batch_size)
    # A bulk write sends no model signals: the rollups hear of the calls' days here.
    rollups_invalidate(org_id=org.pk, moments=[m.scheduled_at for m in changed])
    return len(changed)


def _has_pcf(meeting: Meeting) -> bool:
    try:
        meeting.pcf  # noqa: B018
    except PostCallForm.DoesNotExist:
        return False
    return True


# --- call types -------------------------------------------------------------------------------


def classify_for_org(*, org: Organization, event_name: str, event_type_uri: str) -> str:
    rules = [
        calls.CallTypeRuleSpec(
            call_type=r.call_type,
            event_type_uri=r.event_type_uri,
            name_pattern=r.name_pattern,
            priority=r.priority,
        )
        for r in CallTypeRule.objects.for_org(org)
    ]
    return calls.classify_call_type(event_name, event_type_uri, rules)


@transaction.atomic
def call_type_rule_create(
    *,
    org: Organization,
    call_type: str,
    event_type_uri: str = "",
    name_pattern: str = "",
    priority: int = 100,
    actor: User | None,
) -> CallTypeRule:
    rule = CallTypeRule(
        org=org,
        call_type=call_type,
        event_type_uri=event_type_uri.strip(),
        name_pattern=name_pattern.strip(),
        priority=priority,
    )
    rule.full_clean()
    rule.save()
    audit_log_write(org=org, actor=actor, action="call_type_rule.create", target=rule)
    return rule


@transaction.atomic
def call_type_rule_delete(*, rule: CallTypeRule, actor: User | None) -> None:
    audit_log_write(
        org=rule.org, actor=actor, action="call_type_rule.delete", target=rule, rule=str(rule)
    )
    rule.delete()


def org_reclassify_meetings(*, org: Organization, actor: User | None = None) -> int:
    """Apply the current mapping to every Calendly call of the org; returns how many changed."""
    changed = 0
    qs = Meeting.objects.for_org(org).filter(provider=Provider.CALENDLY)
    for meeting in qs.iterator():
        call_type = classify_for_org(
            org=org, event_name=meeting.event_name, event_type_uri=meeting.event_type_uri
        )
        if call_type != meeting.call_type:
            with transaction.atomic():
                meeting.call_type = call_type
                meeting.save(update_fields=["call_type", "updated_at"])
                meeting_assign_credit(meeting=meeting)
            changed += 1
    if actor is not None:
        audit_log_write(org=org, actor=actor, action="meeting.reclassify", changed=changed)
    return changed


# --- credit -----------------------------------------------------------------------------------


def team_member_for_host(
    *, org: Organization, email: str | None, calendly_uri: str | None = None, call_type: str = ""
) -> TeamMember | None:
    """The roster entry of a Calendly host (the roster rule: ``orgs.services.team_member_link``);
    a new host of a solution call is a closer, of a triage call a setter."""
    return team_member_link(
        org=org,
        provider="calendly",
        external_id=calendly_uri,
        email=email,
        is_closer=call_type == CallType.SOLUTION,
        is_setter=call_type == CallType.TRIAGE,
    )


def contact_setter_calls(*, org: Organization, contact_ids) -> dict[int, list[dict]]:
    """Per contact, the calls that can name its setter, newest first (for ``setter_from_calls``)."""
    rows: dict[int, list[dict]] = {}
    meetings = (
        Meeting.objects.for_org(org)
        .filter(contact_id__any=[c for c in contact_ids if c is not None])
        .filter(Q(call_type=CallType.TRIAGE, host__isnull=False) | Q(setter__isnull=False))
        .values("pk", "contact_id", "scheduled_at", "call_type", "host_id", "setter_id", "status")
        .order_by("-scheduled_at", "-pk")
    )
    for row in meetings:
        rows.setdefault(row["contact_id"], []).append(row)
    return rows


def setter_from_calls(
    calls: list[dict], *, before: datetime | None, triage_only: bool = False
) -> int | None:
    """The setter of a contact at ``before`` (KPIS.md "Who gets the credit"), the one rule for
    calls, deals and payments: the host of its latest triage call at or before that moment
    (a rescheduled one does not count); else, unless ``triage_only``, the setter credited on
    its latest call then.

    A call's own credit asks ``triage_only``: the fallback would read the call's own setter
    back, and the booking's named setter and the CRM owner come after the triage host.
    ``calls`` are the contact's calls newest first, as ``contact_setter_calls`` gives them.
    """
    eligible = [m for m in calls if before is None or m["scheduled_at"] <= before]
    for m in eligible:
        if (
            m["call_type"] == CallType.TRIAGE
            and m["host_id"] is not None
            and m["status"] != Meeting.Status.RESCHEDULED
        ):
            return m["host_id"]
    if triage_only:
        return None
    for m in eligible:
        if m["setter_id"] is not None:
            return m["setter_id"]
    return None


def contact_setter(
    *, org: Organization, contact_id: int | None, before: datetime | None, triage_only=False
) -> int | None:
    """``setter_from_calls`` for one contact."""
    if contact_id is None:
        return None
    calls = contact_setter_calls(org=org, contact_ids=[contact_id]).get(contact_id, [])
    return setter_from_calls(calls, before=before, triage_only=triage_only)


def meeting_assign_credit(
    *,
    meeting: Meeting,
    host_email: str | None = None,
    host_uri: str | None = None,
    crm_lead_owner_id: str | None = None,
) -> Meeting:
    """Host, closer and setter of a call (KPIS.md "Who gets the credit").

    ``crm_lead_owner_id`` is the Close user id owning the contact's lead, the last setter fallback;
    the Close path passes it (roster entries carry it in ``external_ids["close"]``).
    """
    org = meeting.org
    if host_email or host_uri:
        meeting.host = team_member_for_host(
            org=org, email=host_email, calendly_uri=host_uri, call_type=meeting.call_type
        )
    triage_host = None
    if meeting.call_type != CallType.TRIAGE:
        triage_host = contact_setter(
            org=org, contact_id=meeting.contact_id, before=meeting.scheduled_at, triage_only=True
        )
    roster = TeamMember.objects.for_org(org)
    named = calls.setter_name_from_booking(
        org_settings=org.settings or {},
        utm={
            "utm_source": meeting.utm_source,
            "utm_medium": meeting.utm_medium,
            "utm_campaign": meeting.utm_campaign,
            "utm_content": meeting.utm_content,
            "utm_term": meeting.utm_term,
        },
        answers=[(q.get("question", ""), q.get("answer")) for q in meeting.questions or []],
    )
    named_setter = None
    if named:
        named_setter = calls.match_roster_name(
            named,
            [
                calls.RosterEntry(key=m.pk, name=m.name, email=m.email, is_setter=m.is_setter)
                for m in roster
            ],
        )
    owner = None
    if crm_lead_owner_id:
        owner = roster.filter(external_ids__close=crm_lead_owner_id).values_list("pk", flat=True)
        owner = owner.first()
    pcf_author = (
        PostCallForm.objects.filter(meeting=meeting).values_list("author_id", flat=True).first()
    )
    credit = calls.credit_for_meeting(
        call_type=meeting.call_type,
        host=meeting.host_id,
        triage_host=triage_host,
        named_setter=named_setter,
        crm_lead_owner=owner,
        pcf_author=pcf_author,
    )
    meeting.closer_id = credit.closer if credit.closer is not None else meeting.closer_id
    if credit.setter is not None or meeting.call_type == CallType.TRIAGE:
        meeting.setter_id = credit.setter
    meeting.save(update_fields=["host", "closer", "setter", "updated_at"])
    if meeting.call_type == CallType.TRIAGE and meeting.contact_id and meeting.host_id:
        # The contact's later solution calls take this triage call's host as their setter.
        later = Meeting.objects.for_org(org).filter(
            contact_id=meeting.contact_id,
            call_type=CallType.SOLUTION,
            scheduled_at__gte=meeting.scheduled_at,
        )
        moved = later.exclude(setter_id=meeting.host_id)
        # update() sends no model signals: the rollups hear of the calls' days here.
        rollups_invalidate(org_id=org.pk, moments=moved.values_list("scheduled_at", flat=True))
        moved.update(setter_id=meeting.host_id)
    return meeting


# --- post-call forms ----------------------------------------------------------------------------

PCF_FIELDS = (
    "call_occurred",
    "lead_showed",
    "offer_made",
    "deal_closed",
    "cash_collected",
    "contract_value",
    "payment_type",
    "outcome",
    "notes",
)


def pcf_config_for(*, org: Organization) -> PostCallFormConfig:
    return PostCallFormConfig.objects.for_org(org).first() or PostCallFormConfig(org=org)


def pcf_custom_specs(*, org: Organization) -> list[calls.CustomFieldSpec]:
    try:
        return calls.parse_custom_field_specs(pcf_config_for(org=org).custom_fields)
    except ValueError:
        # A broken configuration must not stop reps from filing: admin validation reports it.
        return []


def pcf_submit(
    *,
    org: Organization,
    meeting: Meeting,
    author: TeamMember | None,
    data: Mapping[str, Any],
    actor: User | None,
) -> PostCallForm:
    """Create or edit the meeting's PCF; raises ValidationError (by field) and saves nothing on error.

    ``data`` holds the PCF fields plus ``custom`` ({key: value}). A closed deal and collected cash
    are recorded through the deal and payment services, once per PCF however often it is saved.
    """
    if meeting.org_id != org.pk:
        raise ValidationError("This call belongs to another organisation.")
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(pk=meeting.pk).first()
        pcf = PostCallForm.objects.filter(meeting=meeting).first()
        if pcf is not None and pcf.locked_at is not None:
            raise PcfLocked("This post-call form is locked.")
        created = pcf is None
        before = {name: getattr(pcf, name) for name in PCF_FIELDS} if pcf else {}
        if pcf is None:
            pcf = PostCallForm(org=org, meeting=meeting)
        answers = _pcf_answers(data, pcf=pcf, meeting=meeting)
        for name in PCF_FIELDS:
            if name in answers:
                setattr(pcf, name, answers[name])
                continue
            if name in data:
                value = data[name]
                if name in ("cash_collected", "contract_value") and value in (None, ""):
                    value = Decimal("0")
                if name in ("payment_type", "outcome", "notes") and value is None:
                    value = ""
                setattr(pcf, name, value)
        if pcf.author_id is None or author is not None:
            pcf.author = author or pcf.author
        pcf.currency = pcf.currency or org.currency
        errors = _pcf_rule_errors(pcf, org=org)
        for name, value in answers.items():
            if value is None:
                errors.setdefault(name, []).append(UNANSWERED[name])
        if (
            pcf.cash_collected
            and pcf.contract_value
            and pcf.cash_collected > pcf.contract_value
            and not data.get("confirm_cash_above_contract")
        ):
            errors.setdefault("confirm_cash_above_contract", []).append(
                f"Cash collected ({pcf.cash_collected:,.2f}) is more than the contract value "
                f"({pcf.contract_value:,.2f}). Check both, or confirm that it is right."
            )
        specs = pcf_custom_specs(org=org)
        custom, custom_errors = calls.validate_custom_fields(specs, data.get("custom") or {})
        errors.update({f"custom_{key}": [msg] for key, msg in custom_errors.items()})
        pcf.custom = custom
        try:
            # Unanswered questions already have their message; "cannot be null" would repeat it.
            pcf.full_clean(exclude=[name for name, value in answers.items() if value is None])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)
        pcf.save()
        if meeting.closer_id is None and meeting.call_type == CallType.SOLUTION:
            meeting_assign_credit(meeting=meeting)  # the PCF author closes an unhosted call
        meeting_recompute_showed(meeting=meeting)
        _pcf_money(pcf, org=org, actor=actor)
        changed = sorted(n for n in PCF_FIELDS if before and before[n] != getattr(pcf, n))
        audit_log_write(
            org=org,
            actor=actor,
            action="pcf.submit" if created else "pcf.edit",
            target=pcf,
            changed=changed,
            author=author.pk if author else None,
        )
    return pcf


YES_NO = ("call_occurred", "lead_showed", "offer_made", "deal_closed")
UNANSWERED = {
    "call_occurred": "Say whether the call took place.",
    "lead_showed": "Say whether the lead showed.",
    "offer_made": "Say whether an offer was made.",
    "deal_closed": "Say whether the deal closed.",
}


def _pcf_answers(data: Mapping[str, Any], *, pcf: PostCallForm, meeting: Meeting) -> dict:
    """The yes/no answers of ``data``, with what follows from earlier ones filled in.

    None is "not answered" (the site's form has no defaults, so a blank form is not a no-show).
    A question that an earlier answer settles is not asked: no call means nobody showed and
    nothing was offered; a triage call is not where offers are made, so unanswered there is no.
    Keys absent from ``data`` keep the stored value (a partial update by a service caller).
    """
    answers = {name: data[name] for name in YES_NO if name in data}
    if not answers:
        return {}
    current = {name: answers.get(name, getattr(pcf, name, None)) for name in YES_NO}
    if current["call_occurred"] is False:
        current["lead_showed"] = current["lead_showed"] or False
    if current["lead_showed"] is False:
        current["offer_made"] = current["offer_made"] or False
        current["deal_closed"] = current["deal_closed"] or False
    if meeting.call_type != CallType.SOLUTION:
        for name in ("offer_made", "deal_closed"):
            if current[name] is None:
                current[name] = False
    return {name: current[name] for name in YES_NO if name in answers or current[name] is None}


def _pcf_rule_errors(pcf: PostCallForm, *, org: Organization) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not pcf.call_occurred and pcf.lead_showed:
        add("lead_showed", "A call that did not take place cannot have been attended.")
    if pcf.offer_made and not pcf.lead_showed:
        add("offer_made", "An offer needs a lead who showed.")
    if pcf.deal_closed and not pcf.lead_showed:
        add("deal_closed", "A closed deal needs a lead who showed.")
    if pcf.deal_closed and not (pcf.contract_value and pcf.contract_value > 0):
        add("contract_value", "Enter the contract value of the closed deal.")
    if pcf.cash_collected and pcf.cash_collected > 0 and not pcf.payment_type:
        add("payment_type", "Choose how the cash was paid.")
    outcomes = [str(o) for o in pcf_config_for(org=org).outcomes or []]
    if pcf.outcome and outcomes and pcf.outcome not in outcomes:
        add("outcome", f"Choose one of: {', '.join(outcomes)}.")
    implied = calls.outcome_implies(pcf.outcome)
    for name, value in implied.items():
        if getattr(pcf, name) is not None and getattr(pcf, name) != value:
            add("outcome", OUTCOME_CONFLICT[name][value].format(outcome=pcf.outcome))
            break
    return errors


OUTCOME_CONFLICT = {
    "deal_closed": {
        True: "The outcome “{outcome}” says the deal closed: answer Yes to “Did the deal close?”, "
        "or choose another outcome.",
        False: "The outcome “{outcome}” says the deal did not close: answer No to “Did the deal "
        "close?”, or choose another outcome.",
    },
    "lead_showed": {
        True: "The outcome “{outcome}” says the lead showed: answer Yes to “Did the lead show?”, "
        "or choose another outcome.",
        False: "The outcome “{outcome}” is a no-show: answer No to “Did the lead show?”, or "
        "choose another outcome.",
    },
}


def _pcf_money(pcf: PostCallForm, *, org: Organization, actor: User | None) -> None:
    # Imported here: deals and payments import meetings' models, not the other way round.
    from apps.deals.services import deal_record_from_pcf, deal_withdraw_from_pcf
    from apps.payments.services import payment_record_manual, payment_withdraw_manual

    deal = None
    if pcf.deal_closed:
        deal = deal_record_from_pcf(org=org, pcf=pcf, actor=actor)
    else:
        deal_withdraw_from_pcf(org=org, pcf=pcf, actor=actor)
    key = f"pcf:{pcf.pk}"
    if pcf.cash_collected and pcf.cash_collected > 0:
        payment_record_manual(
            org=org,
            contact=pcf.meeting.contact,
            amount=pcf.cash_collected,
            currency=pcf.currency or org.currency,
            paid_at=min(pcf.meeting.scheduled_at, timezone.now()),
            meeting=pcf.meeting,
            deal=deal,
            actor=actor,
            external_id=key,
        )
    else:
        payment_withdraw_manual(org=org, external_id=key, actor=actor)


@transaction.atomic
def pcf_lock(*, pcf: PostCallForm, actor: User | None) -> PostCallForm:
    if pcf.locked_at is None:
        pcf.locked_at = timezone.now()
        pcf.locked_by = actor if actor is not None and actor.is_authenticated else None
        pcf.save(update_fields=["locked_at", "locked_by", "updated_at"])
        audit_log_write(org=pcf.org, actor=actor, action="pcf.lock", target=pcf)
    return pcf


@transaction.atomic
def pcf_unlock(*, pcf: PostCallForm, actor: User | None) -> PostCallForm:
    if pcf.locked_at is not None:
        pcf.locked_at = None
        pcf.locked_by = None
        pcf.save(update_fields=["locked_at", "locked_by", "updated_at"])
        audit_log_write(org=pcf.org, actor=actor, action="pcf.unlock", target=pcf)
    return pcf


# --- magic links and reminders ------------------------------------------------------------------


def magic_link_max_age() -> timedelta:
    return getattr(settings, "PCF_MAGIC_LINK_MAX_AGE", DEFAULT_MAGIC_LINK_MAX_AGE)


def magic_link_token(*, member: TeamMember, salt: str = MAGIC_LINK_SALT) -> str:
    """A signed, expiring token naming one org and one roster entry: nothing else. Another
    ``salt`` makes a link for another page, which the PCF pages do not accept (nor it theirs)."""
    signer = signing.TimestampSigner(salt=salt)
    return signer.sign_object({"o": member.org_id, "m": member.pk})


def magic_link_member(
    *, token: str, salt: str = MAGIC_LINK_SALT, max_age: timedelta | None = None
) -> TeamMember:
    """The roster entry a token names; raises signing.SignatureExpired / BadSignature /
    TeamMember.DoesNotExist (callers answer 410 for the first, 404 for the others)."""
    signer = signing.TimestampSigner(salt=salt)
    value = signer.unsign_object(token, max_age=max_age or magic_link_max_age())
    if not isinstance(value, dict):
        raise signing.BadSignature("unexpected token payload")
    return TeamMember.objects.select_related("org").get(
        org_id=value.get("o"), pk=value.get("m"), active=True
    )


def magic_link_send(
    *, org: Organization, member: TeamMember, base_url: str, actor: User | None
) -> str:
    """Email a rep a link to their own PCFs; returns the URL (also for showing to the manager)."""
    if member.org_id != org.pk:
        raise ValidationError("This rep belongs to another organisation.")
    if not member.email:
        raise ValidationError("This rep has no email address.")
    url = base_url + reverse("rep:magic_home", kwargs={"token": magic_link_token(member=member)})
    days = magic_link_max_age().days
    with transaction.atomic():
        audit_log_write(org=org, actor=actor, action="rep.magic_link_send", target=member)
        transaction.on_commit(
            lambda: send_mail(
                f"Your post-call forms at {org.name}",
                f"Hello {member.name},\n\nOpen your calls and post-call forms here "
                f"(the link works for {days} days):\n{url}\n",
                None,
                [member.email],
            )
        )
    return url


def pcf_remind(
    *,
    org: Organization,
    member: TeamMember,
    meetings: list[Meeting],
    base_url: str,
    actor: User | None,
) -> bool:
    """One digest email to a rep about the PCFs they owe; False when there is nothing to send."""
    email = member.email or (member.user.email if member.user_id else "")
    if not meetings or not email:
        return False
    if member.user_id:
        link = base_url + reverse("rep:portal")
    else:
        link = base_url + reverse(
            "rep:magic_home", kwargs={"token": magic_link_token(member=member)}
        )
    tz = org.tzinfo
    lines = [
        f"- {timezone.localtime(m.scheduled_at, tz):%a %d %b %H:%M} · {m.contact or 'unknown'}"
        f" ({m.get_call_type_display()})"
        for m in meetings
    ]
    body = (
        f"Hello {member.name},\n\nYou have {len(meetings)} post-call form(s) to fill:\n"
        + "\n".join(lines)
        + f"\n\nFill them here: {link}\n"
    )
    with transaction.atomic():
        audit_log_write(
            org=org, actor=actor, action="pcf.remind", target=member, meetings=len(meetings)
        )
        transaction.on_commit(
            lambda: send_mail(f"{len(meetings)} post-call form(s) to fill", body, None, [email])
        )
    return True


def pcf_overdue_cutoff(*, org: Organization, now=None):
    hours = (org.settings or {}).get("pcf_overdue_hours", DEFAULT_PCF_OVERDUE_HOURS)
    try:
        hours = float(hours)
    except (TypeError, ValueError):
        hours = DEFAULT_PCF_OVERDUE_HOURS
    return (now or timezone.now()) - timedelta(hours=hours)


def owed_by(member: TeamMember) -> Q:
    """Calls whose PCF this rep owes: the ones they hosted, else the closer or triage setter."""
    return Q(host=member) | (
        Q(host__isnull=True) & (Q(closer=member) | Q(setter=member, call_type=CallType.TRIAGE))
    )

"""Acceptance 3: after every kind of change the rollups equal the raw rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.kpis.models import AdSpend, DailyRollup
from apps.kpis.selectors import base_counts, kpi_summary, month_bounds
from apps.kpis.services import rollup_check, rollup_rebuild, rollup_refresh_days
from tests.apps.kpis.helpers import at, call, lead, paid, past_month, won
from tests.factories import ContactFactory, MeetingFactory, PostCallFormFactory, RefundFactory

pytestmark = pytest.mark.django_db


def _assert_consistent(org, start, end):
    assert rollup_check(org=org, start=start, end=end) == []
    for closer in (None, *org.teammember_set.filter(is_closer=True)):
        rolled = kpi_summary(org=org, start=start, end=end, closer=closer)
        raw = kpi_summary(org=org, start=start, end=end, closer=closer, raw=True)
        assert rolled == raw


def test_rollups_follow_every_kind_of_change(team_a, django_capture_on_commit_callbacks):
    org = team_a.org
    org.timezone = "Asia/Tokyo"
    org.save()
    start, _ = past_month(3)
    _, end = past_month(1)
    first = start + timedelta(days=3)
    later = start + timedelta(days=40)
    closer = team_a.closer_member
    other = team_a.other_closer_member

    def step(change):
        with django_capture_on_commit_callbacks(execute=True):
            result = change()
        _assert_consistent(org, start, end)
        return result

    contact = step(lambda: lead(org, first))
    step(lambda: setattr(contact, "original_source", "google") or contact.save())
    triage = step(lambda: call(org, contact, first, "triage", setter=team_a.setter_member))
    solution = step(
        lambda: call(org, contact, first + timedelta(days=1), "solution", closer=closer)
    )
    # A direct booking becomes indirect once an earlier triage call appears, and back again.
    step(lambda: setattr(triage, "scheduled_at", at(org, later)) or triage.save())

    def reschedule():
        new = MeetingFactory(
            org=org,
            contact=contact,
            call_type="solution",
            closer=closer,
            scheduled_at=at(org, later + timedelta(days=1)),
        )
        solution.rescheduled_to = new
        solution.status = "rescheduled"
        solution.save()
        return new

    new_solution = step(reschedule)
    step(lambda: PostCallFormFactory(meeting=new_solution, lead_showed=True, offer_made=True))

    def no_show():
        new_solution.showed = False
        new_solution.save()

    step(no_show)

    def cancel():
        triage.status = "canceled"
        triage.canceled_at = triage.scheduled_at - timedelta(hours=1)
        triage.showed = False
        triage.save()

    step(cancel)
    step(lambda: setattr(new_solution, "closer", other) or new_solution.save())
    deal = step(lambda: won(org, contact, later, 9000, closer=closer))
    step(lambda: setattr(deal, "value", Decimal("12000")) or deal.save())
    step(lambda: setattr(deal, "closed_at", at(org, first)) or deal.save())
    payment = step(lambda: paid(org, contact, later, 4000, closer=closer))
    refund = step(
        lambda: RefundFactory(
            payment=payment, amount=Decimal("250"), refunded_at=at(org, later + timedelta(days=3))
        )
    )
    step(lambda: setattr(refund, "amount", Decimal("300")) or refund.save())
    step(refund.delete)
    step(
        lambda: AdSpend.objects.create(
            org=org, date=first, source="google", amount=Decimal(75), currency=org.currency
        )
    )
    month_spend = step(
        lambda: AdSpend.objects.create(
            org=org,
            granularity="month",
            date=month_bounds(later)[0],
            source="google",
            amount=Decimal("3100"),
            currency=org.currency,
        )
    )
    step(lambda: setattr(month_spend, "amount", Decimal("310")) or month_spend.save())
    step(month_spend.delete)
    twin = step(lambda: ContactFactory(org=org, first_seen_at=at(org, later)))
    step(lambda: setattr(twin, "merged_into", contact) or twin.save())
    step(payment.delete)
    step(deal.delete)
    step(new_solution.delete)
    step(contact.delete)


def test_refresh_and_check_report_a_drift(team_a):
    org = team_a.org
    start, end = past_month()
    contact = lead(org, start)
    call(org, contact, start, "triage")
    rollup_rebuild(org=org)
    assert rollup_check(org=org, start=start, end=end) == []
    # A write that bypassed the services (queryset.update sends no signal).
    contact.meetings.update(showed=False, status="no_show")
    differences = rollup_check(org=org, start=start, end=end)
    assert {d.count for d in differences} == {"triage_attended", "triage_no_show"}
    assert "rollup=1 raw=0" in str(differences[0]) or "rollup=0 raw=1" in str(differences[0])
    rollup_refresh_days(org=org, days=[start])
    assert rollup_check(org=org, start=start, end=end) == []


def test_due_counts_follow_the_clock_without_a_refresh(team_a):
    """Rows are stored "as if due": a call later today becomes due when its time passes."""
    org = team_a.org
    now = timezone.now()
    today = timezone.localdate(now, timezone=org.tzinfo)
    contact = lead(org, today)
    MeetingFactory(
        org=org, contact=contact, call_type="triage", scheduled_at=now - timedelta(minutes=5)
    )
    MeetingFactory(
        org=org, contact=contact, call_type="solution", scheduled_at=now + timedelta(minutes=5)
    )
    rollup_rebuild(org=org)
    start, end = month_bounds(today)
    for moment in (now, now + timedelta(minutes=10), now + timedelta(days=40)):
        rolled = base_counts(org=org, start=start, end=end, now=moment)[()]
        raw = base_counts(org=org, start=start, end=end, now=moment, raw=True)[()]
        assert rolled == raw
    before = base_counts(org=org, start=start, end=end, now=now)[()]
    assert (before["triage_due"], before["solution_due"], before["solution_booked"]) == (1, 0, 1)
    after = base_counts(org=org, start=start, end=end, now=now + timedelta(minutes=10))[()]
    assert after["solution_due"] == 1


def test_groupings_agree_between_rollups_and_raw_rows(team_a):
    org = team_a.org
    start, end = past_month(3)[0], past_month(1)[1]
    for i in range(12):
        contact = lead(org, start + timedelta(days=7 * i), original_source=f"s{i % 3}")
        call(org, contact, start + timedelta(days=7 * i), "triage", setter=team_a.setter_member)
        meeting = call(
            org,
            contact,
            start + timedelta(days=7 * i + 1),
            "solution",
            closer=team_a.closer_member if i % 2 else team_a.other_closer_member,
            showed=i % 3 != 0,
        )
        if i % 4 == 0:
            won(
                org,
                contact,
                start + timedelta(days=7 * i + 1),
                1000 * (i + 1),
                meeting=meeting,
                closer=meeting.closer,
            )
    rollup_rebuild(org=org)
    assert DailyRollup.objects.filter(org=org, grain="month").exists()
    for group_by in (
        ("day",),
        ("week",),
        ("month",),
        ("closer",),
        ("setter",),
        ("source",),
        ("campaign",),
        ("month", "closer"),
        ("source", "campaign"),
    ):
        rolled = base_counts(org=org, start=start, end=end, group_by=group_by)
        raw = base_counts(org=org, start=start, end=end, group_by=group_by, raw=True)
        assert {k: v for k, v in rolled.items() if any(v.values())} == {
            k: v for k, v in raw.items() if any(v.values())
        }, group_by


def test_reads_take_a_fixed_number_of_queries(team_a, django_assert_max_num_queries):
    org = team_a.org
    start, end = past_month()
    for i in range(30):
        contact = lead(org, start + timedelta(days=i % 28))
        call(org, contact, start + timedelta(days=i % 28), "solution", closer=team_a.closer_member)
    rollup_rebuild(org=org)
    with django_assert_max_num_queries(2):
        base_counts(org=org, start=start, end=end, group_by=("closer",))
    with django_assert_max_num_queries(6):
        base_counts(org=org, start=start, end=end, group_by=("day",), raw=True)


def test_the_nightly_task_rebuilds_every_org(team_a, team_b):
    from apps.kpis.tasks import rollup_rebuild_nightly, rollup_refresh_days_task

    start, end = past_month()
    for team in (team_a, team_b):
        call(team.org, lead(team.org, start), start, "triage")
    assert not DailyRollup.objects.exists()
    rollup_rebuild_nightly.delay()  # eager in tests: one rebuild task per org
    for team in (team_a, team_b):
        assert rollup_check(org=team.org, start=start, end=end) == []
        assert DailyRollup.objects.filter(org=team.org, triage_booked=1).exists()
    DailyRollup.objects.filter(org=team_a.org).delete()
    rollup_refresh_days_task.delay(team_a.org.pk, [start.isoformat()])
    assert rollup_check(org=team_a.org, start=start, end=end) == []


def test_rollups_follow_identity_resolution_merges_and_unmerges(
    team_a, django_capture_on_commit_callbacks
):
    """The identity services write contacts in bulk (no model signals): leads, sources and the
    rows that follow a contact must still reach the rollups."""
    from apps.contacts.services import contact_merge, contact_resolve, contact_unmerge
    from tests.apps.contacts.helpers import person

    org = team_a.org
    org.timezone = "America/Los_Angeles"
    org.save()
    start, _ = past_month(3)
    _, end = past_month(1)
    late = at(org, start + timedelta(days=50), hour=23, minute=30)  # next day in UTC

    def step(change):
        with django_capture_on_commit_callbacks(execute=True):
            result = change()
        _assert_consistent(org, start, end)
        return result

    ann = step(
        lambda: (
            contact_resolve(
                org=org, observation=person(email="ann.lee@gmail.com", at=late, utm_source="google")
            ).contact
        )
    )
    paid(org, ann, start + timedelta(days=52), 900, closer=team_a.closer_member)
    rollup_rebuild(org=org)
    # Seen earlier, from another source: the lead moves back a month and changes source, and
    # her payment follows her new source.
    step(
        lambda: contact_resolve(
            org=org,
            observation=person(
                email="ann.lee@gmail.com", at=at(org, start + timedelta(days=2)), utm_source="meta"
            ),
        )
    )
    bob = step(
        lambda: (
            contact_resolve(
                org=org,
                observation=person(
                    email="bob.stone@outlook.com",
                    at=at(org, start + timedelta(days=20)),
                    utm_source="tiktok",
                ),
            ).contact
        )
    )
    call(org, bob, start + timedelta(days=21), "solution", closer=team_a.closer_member)
    rollup_rebuild(org=org)
    ann.refresh_from_db()
    merge = step(lambda: contact_merge(org=org, winner=ann, loser=bob, actor=None))
    step(lambda: contact_unmerge(org=org, merge=merge, actor=None))
    assert kpi_summary(org=org, start=start, end=end)["base"]["leads"] == 2


def test_a_burst_of_changes_to_one_day_queues_one_refresh(
    team_a, django_capture_on_commit_callbacks
):
    """Each webhook writes in its own transaction; a burst on one day must not flood the queue
    with identical refreshes (they held up webhook processing behind them)."""
    import redis
    from celery import current_app
    from django.conf import settings

    from apps.kpis.services import rollup_refresh_claim, rollup_refresh_release

    org = team_a.org
    day = past_month(1)[0]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    current_app.conf.task_always_eager = False
    try:
        for _ in range(20):  # twenty transactions, as twenty webhook events would be
            with django_capture_on_commit_callbacks(execute=True):
                lead(org, day)
        queued = broker.llen("celery")
    finally:
        current_app.conf.task_always_eager = True
        broker.delete("celery")
    assert queued == 1
    # The queued refresh releases the day as it starts: the next change queues a new one.
    assert rollup_refresh_claim(org_id=org.pk, days=[day]) == []
    rollup_refresh_release(org_id=org.pk, days=[day])
    assert rollup_refresh_claim(org_id=org.pk, days=[day]) == [day]
    rollup_refresh_release(org_id=org.pk, days=[day])

"""Commission statements: a rep sees their own lines of every payout and of the running period;
a signed link shows only the rep it names; an expired or altered link is a 404."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import responses
import time_machine
from django.core import mail
from django.urls import reverse

from apps.meetings.services import magic_link_token
from apps.meetings.statements import statement_link_url
from apps.notifications.models import Delivery, Kind, Rep, RepSlackUser
from apps.notifications.services import statement_links_send
from apps.orgs.models import AuditLog
from apps.payments.models import CommissionRule
from apps.payments.services import payout_snapshot_create
from tests.apps.notifications.conftest import POST_MESSAGE
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.fromisoformat("2026-12-10T15:00:00+00:00")


@pytest.fixture
def payouts(team_a):
    """November snapshotted; December running. Amounts tell whose line a page shows."""
    org = team_a.org
    closer, other = team_a.closer_member, team_a.other_closer_member
    for member in (closer, other):
        CommissionRule.objects.create(org=org, team_member=member, role="closer", percent=10)
    nov = datetime.fromisoformat("2026-11-12T12:00:00+00:00")
    PaymentFactory(org=org, closer=closer, amount=Decimal("1111.00"), paid_at=nov)
    PaymentFactory(org=org, closer=other, amount=Decimal("7777.00"), paid_at=nov)
    with time_machine.travel(datetime.fromisoformat("2026-12-01T09:00:00+00:00")):
        payout_snapshot_create(
            org=org, start=date(2026, 11, 1), end=date(2026, 11, 30), actor=team_a.manager
        )
    dec = datetime.fromisoformat("2026-12-05T12:00:00+00:00")
    PaymentFactory(org=org, closer=closer, amount=Decimal("2222.00"), paid_at=dec)
    PaymentFactory(org=org, closer=other, amount=Decimal("8888.00"), paid_at=dec)


@time_machine.travel(TODAY, tick=False)
def test_a_closer_sees_their_own_lines_of_every_payout_and_the_running_period(
    client, team_a, payouts
):
    client.force_login(team_a.closer)
    portal = client.get(reverse("rep:portal")).content.decode()
    assert reverse("rep:statement") in portal
    page = client.get(reverse("rep:statement")).content.decode()
    assert "$111.10" in page  # 10% of November's 1,111.00
    assert "$222.20" in page  # 10% of December's 2,222.00, not snapshotted yet
    assert "running, not yet paid out" in page
    assert "01 Dec 2026 – 10 Dec 2026" in page
    # The other closer's lines are theirs alone.
    assert "7,777.00" not in page and "777.70" not in page
    assert "8,888.00" not in page and "888.80" not in page
    assert client.post(reverse("rep:statement")).status_code == 405


def test_a_member_without_a_roster_entry_has_no_statement(client, team_a, payouts):
    client.force_login(team_a.manager)
    page = client.get(reverse("rep:statement")).content.decode()
    assert "not on this organisation's roster" in page
    assert "$" not in page.split("<main", 1)[-1]


@time_machine.travel(TODAY, tick=False)
@responses.activate
def test_the_admin_action_sends_each_rep_a_link_by_email_and_slack_dm(
    client, team_a, payouts, bot_channel
):
    RepSlackUser.objects.create(
        org=team_a.org, team_member=team_a.closer_member, slack_user_id="U0CLOSER"
    )
    responses.post(POST_MESSAGE, json={"ok": True})
    client.force_login(team_a.owner)
    reps = [team_a.closer_member.pk, team_a.other_closer_member.pk]
    response = client.post(
        reverse("admin:notifications_rep_changelist"),
        {"action": "send_statement_links", "_selected_action": reps},
    )
    assert response.status_code == 302
    # The closer has an email and a Slack user; the other closer an email only.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [team_a.closer_member.email, team_a.other_closer_member.email]
    )
    (dm,) = responses.calls
    assert '"channel": "U0CLOSER"' in dm.request.body.decode()
    assert "C0SALES" not in dm.request.body.decode()  # never in a shared channel
    assert AuditLog.objects.filter(action="payout.statement_link_send").count() == 2

    # The closer's link, opened without signing in, shows the closer's lines only.
    own = next(m for m in mail.outbox if m.to == [team_a.closer_member.email])
    url = re.search(r"https?://\S+/statement/\S+/", own.body).group(0)
    client.logout()
    page = client.get(url).content.decode()
    assert "$111.10" in page and "$222.20" in page
    assert "777.70" not in page and "888.80" not in page
    assert url in dm.request.body.decode()


@time_machine.travel(TODAY, tick=False)
def test_an_expired_or_altered_link_is_a_404(client, team_a, payouts):
    url = statement_link_url(member=team_a.closer_member)
    assert client.get(url).status_code == 200
    token = url.rstrip("/").rsplit("/", 1)[-1]
    altered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.get(reverse("rep:statement_link", args=[altered])).status_code == 404
    # Another rep's id in the signed value breaks the signature.
    value, rest = token.split(":", 1)
    assert client.get(reverse("rep:statement_link", args=[value + "x:" + rest])).status_code == 404
    # A PCF magic link is no statement link, and the other way round.
    pcf_token = magic_link_token(member=team_a.closer_member)
    assert client.get(reverse("rep:statement_link", args=[pcf_token])).status_code == 404
    assert client.get(reverse("rep:magic_home", args=[token])).status_code == 404
    with time_machine.travel(TODAY + timedelta(days=15)):
        assert client.get(url).status_code == 404
    with time_machine.travel(TODAY + timedelta(days=13)):
        assert client.get(url).status_code == 200


@time_machine.travel(TODAY, tick=False)
def test_a_closer_cannot_see_another_closers_statement(client, team_a, payouts):
    other_url = statement_link_url(member=team_a.other_closer_member)
    client.force_login(team_a.closer)
    # Signed in as the closer, their own page stays theirs...
    own = client.get(reverse("rep:statement")).content.decode()
    assert "777.70" not in own
    # ...and an inactive rep's link opens nothing.
    Rep.objects.filter(pk=team_a.other_closer_member.pk).update(active=False)
    assert client.get(other_url).status_code == 404


@time_machine.travel(TODAY, tick=False)
def test_statement_links_are_sent_once_per_minute_and_only_to_reachable_reps(team_a, payouts):
    nobody = team_a.other_closer_member
    nobody.email = ""
    nobody.save()
    reached, unreachable = statement_links_send(
        org=team_a.org, members=[team_a.closer_member, nobody], actor=team_a.owner
    )
    statement_links_send(org=team_a.org, members=[team_a.closer_member], actor=team_a.owner)
    assert (reached, unreachable) == (1, [nobody.name])
    assert len(mail.outbox) == 1
    assert Delivery.objects.filter(kind=Kind.COMMISSION_STATEMENT).count() == 1


def test_a_rep_of_another_org_is_refused(team_a, team_b):
    from apps.notifications.services import NotificationError

    with pytest.raises(NotificationError):
        statement_links_send(org=team_a.org, members=[team_b.closer_member], actor=None)
    assert mail.outbox == []

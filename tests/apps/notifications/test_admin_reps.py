"""The reps page of the notifications admin: a rep's Slack user is set there, in the rep's org."""

import pytest
from django.urls import reverse

from apps.notifications.models import RepSlackUser

pytestmark = pytest.mark.django_db


def _inline(prefix="slack_user", **row):
    return {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1",
        **{f"{prefix}-0-{k}": v for k, v in row.items()},
    }


def test_an_owner_sets_a_reps_slack_user_on_the_reps_page(client, team_a):
    member = team_a.closer_member
    client.force_login(team_a.owner)
    url = reverse("admin:notifications_rep_change", args=[member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, _inline(slack_user_id="U0CLOSER", team_member=member.pk))
    assert response.status_code == 302, response.context and response.context.get("errors")
    row = RepSlackUser.objects.get()
    assert (row.org, row.team_member, row.slack_user_id) == (team_a.org, member, "U0CLOSER")
    listing = client.get(reverse("admin:notifications_rep_changelist")).content.decode()
    assert "U0CLOSER" in listing


def test_another_orgs_owner_cannot_open_or_set_a_rep(client, team_a, outsider):
    client.force_login(outsider)
    url = reverse("admin:notifications_rep_change", args=[team_a.closer_member.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, _inline(slack_user_id="U0MOLE")).status_code == 404
    assert not RepSlackUser.objects.exists()

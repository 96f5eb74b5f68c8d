"""URL fields in admin read a URL typed without a scheme as https."""

import pytest
from django.urls import reverse

from apps.meetings.models import Meeting

pytestmark = pytest.mark.django_db


def test_a_meeting_url_typed_without_a_scheme_is_taken_as_https(client, team_a):
    client.force_login(team_a.owner)
    page = client.get(reverse("admin:meetings_meeting_add"))
    assert page.status_code == 200
    form = page.context["adminform"].form
    field = form.fields["event_uri"]
    assert field.clean("calendly.com/events/abc") == "https://calendly.com/events/abc"
    assert Meeting.objects.count() == 0

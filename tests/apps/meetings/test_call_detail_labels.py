"""The call page shows a PCF's custom answers under the labels the form gave them."""

import pytest
from django.urls import reverse

from apps.meetings.models import PostCallFormConfig
from tests.factories import MeetingFactory, PostCallFormFactory

pytestmark = pytest.mark.django_db


def test_the_call_page_names_a_custom_answer_by_its_label(client, team_a):
    PostCallFormConfig.objects.create(
        org=team_a.org,
        custom_fields=[{"key": "objection", "label": "Main objection", "type": "text"}],
    )
    pcf = PostCallFormFactory(
        meeting=MeetingFactory(org=team_a.org), custom={"objection": "price", "gone": "x"}
    )
    client.force_login(team_a.manager)

    html = client.get(reverse("meetings:detail", args=[pcf.meeting.pk])).content.decode()

    assert "<dt>Main objection</dt><dd>price</dd>" in html
    assert "<dt>objection</dt>" not in html
    # An answer to a field since removed from the form is still shown, by its key.
    assert "<dt>gone</dt><dd>x</dd>" in html

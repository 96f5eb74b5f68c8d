"""Issue 6, acceptance 5: a closer signs in, opens a call from the pending list, files its
post-call form on the page (HTMX, no reload), and the call leaves the list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.meetings.models import PostCallForm
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, MeetingFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_closer_files_a_pending_post_call_form(live_server, team_a, browser):
    contact = ContactFactory(org=team_a.org, first_name="Paula", last_name="Pending")
    meeting = MeetingFactory(
        org=team_a.org,
        contact=contact,
        call_type="solution",
        closer=team_a.closer_member,
        host=team_a.closer_member,
        scheduled_at=timezone.now() - timedelta(days=1),
    )
    someone_elses = MeetingFactory(
        org=team_a.org,
        closer=team_a.other_closer_member,
        host=team_a.other_closer_member,
        scheduled_at=timezone.now() - timedelta(days=1),
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()

    page.goto(f"{live_server.url}/accounts/login/?next=/rep/")
    page.fill('input[name="login"]', team_a.closer.email)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{live_server.url}/rep/")

    pending = page.locator("#pcf-owed tbody tr")
    assert pending.count() == 1  # the other closer's call is not in this list
    assert "Paula" in pending.first.inner_text()
    pending.first.get_by_role("link", name="Fill the form").click()
    page.wait_for_url(f"{live_server.url}/calls/{meeting.pk}/pcf/")

    page.evaluate("() => { window.__noReload = 'still here'; }")
    page.check('input[name="call_occurred"][value="yes"]')
    page.check('input[name="lead_showed"][value="yes"]')
    page.check('input[name="offer_made"][value="yes"]')
    page.check('input[name="deal_closed"][value="no"]')
    page.fill('input[name="cash_collected"]', "-5")
    save = page.locator("#pcf-form").get_by_role("button", name="Save")
    save.click()
    error = page.locator("#id_cash_collected-errors")
    error.wait_for()
    assert "negative" in error.inner_text().lower() or "0" in error.inner_text()
    assert not PostCallForm.objects.filter(meeting=meeting).exists()

    page.fill('input[name="cash_collected"]', "0")
    page.fill('textarea[name="notes"]', "Wants to talk to his partner first.")
    save.click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    assert page.evaluate("() => window.__noReload") == "still here"  # swapped in place

    pcf = PostCallForm.objects.get(meeting=meeting)
    assert pcf.lead_showed and pcf.offer_made and not pcf.deal_closed
    assert pcf.notes == "Wants to talk to his partner first."

    page.goto(f"{live_server.url}/rep/")
    assert page.locator("#pcf-owed tbody tr").count() == 1
    assert "Nothing owed" in page.locator("#pcf-owed").inner_text()
    # Nor can the closer reach the other closer's form by its address.
    response = page.goto(f"{live_server.url}/calls/{someone_elses.pk}/pcf/")
    assert response.status == 404
    context.close()

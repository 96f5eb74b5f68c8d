"""A nightly sync gets the same cleaning a webhook does: an API item with a NUL in a name, a
lone surrogate or a text longer than its column lands, fitted, instead of failing its item."""

import pytest
import responses

from apps.contacts.models import Contact
from apps.integrations.models import SyncRun
from apps.integrations.providers.calendly.sync import CalendlySync
from apps.integrations.sync import sync_run
from apps.meetings.models import Meeting
from tests.apps.integrations.test_sync import FakeCalendly, no_wait
from tests.apps.integrations.test_sync import org as org


@pytest.mark.django_db
def test_hostile_text_in_api_items_lands_fitted(org):
    fake = FakeCalendly(3)
    first, second, third = (fake.invitees[e["uri"]][0] for e in fake.events)
    first["name"] = "Ada\x00 Lovelace"
    first["first_name"] = "Ada\x00"
    second["name"] = "Ben \ud800Okafor"
    third["name"] = "C" * 5000
    third["last_name"] = "D" * 5000
    with responses.RequestsMock() as rsps:
        fake.install(rsps)
        run = sync_run(org=org, provider="calendly", client_options=no_wait())

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.created, run.failed) == (3, 0)
    assert Meeting.objects.for_org(org).count() == 3
    names = list(Contact.objects.for_org(org).values_list("first_name", "last_name"))
    assert not any("\x00" in (a or "") + (b or "") for a, b in names)
    longest = Contact._meta.get_field("last_name").max_length
    assert all(len(b or "") <= longest for _, b in names)


@pytest.mark.django_db
def test_a_database_error_fails_the_run_without_quoting_a_value(org, monkeypatch, caplog):
    from django.db import DataError

    def refuses(self):
        raise DataError('value too long for type character varying(200): "ada@example.com"')

    monkeypatch.setattr(CalendlySync, "sync", refuses)
    run = sync_run(org=org, provider="calendly", client_options=no_wait())
    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("DataError") and "ada@example.com" not in run.error
    assert "ada@example.com" not in caplog.text

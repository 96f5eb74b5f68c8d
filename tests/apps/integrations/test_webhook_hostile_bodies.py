"""Issue 17, case by case: the deliveries the fuzz probe answered with a 500, or accepted and then
failed, and what each one gets now. test_webhook_fuzz.py holds the property over all shapes."""

from __future__ import annotations

import io
import json
from unittest import mock

import pytest
from django.db import DataError
from django.test import override_settings

from apps.contacts.models import SourceRecord, Touchpoint
from apps.deals.models import CallActivity
from apps.integrations import webhooks
from apps.integrations.models import WebhookEvent
from apps.meetings.models import Meeting
from apps.payments.models import Payment
from tests.apps.integrations.webhook_support import deliver, encode, set_secrets, sign, url
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db

EMAIL = "sample0.person@gmail.com"


@pytest.fixture
def org(team_a):
    set_secrets(team_a.org)
    return team_a.org


@pytest.fixture
def send(client, org, worker, django_capture_on_commit_callbacks):
    def _send(provider: str, payload: dict | bytes, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            return deliver(client, provider, org.slug, payload, **kw)

    return _send


def _refused(response, org, *words: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    for word in words:
        assert word in error
    assert not WebhookEvent.objects.filter(org=org).exists()


def _processed(org) -> WebhookEvent:
    event = WebhookEvent.objects.get(org=org)
    assert event.status == WebhookEvent.Status.PROCESSED, event.error
    return event


def _nested(depth: int) -> bytes:
    body = encode(load_fixture("stripe/charge.succeeded"))
    return body.replace(b'"metadata": {}', b'"metadata": ' + b"[" * depth + b"]" * depth)


# --- 500s of the probe: now a 400 naming the problem -----------------------------------------


@pytest.mark.parametrize("depth", [65, 10_000])
def test_json_nested_deeper_than_64_is_400_saying_so(send, org, depth):
    _refused(send("stripe", _nested(depth)), org, "nested deeper than 64")


def test_json_nested_as_deep_as_a_provider_could_is_accepted(send, org):
    assert send("stripe", _nested(50)).status_code == 200
    assert Payment.objects.filter(org=org).exists()


@pytest.mark.parametrize("created", [10**18, 10**12, -1, 1e308])
def test_an_epoch_no_datetime_can_hold_is_400_naming_the_field(send, org, created):
    payload = load_fixture("stripe/charge.succeeded")
    payload["created"] = created
    _refused(send("stripe", payload), org, "stripe.event.created", "out of range")


def test_an_iso_time_that_overflows_on_conversion_to_utc_is_400(send, org):
    payload = load_fixture("whop/payment.succeeded")
    payload["timestamp"] = "9999-12-31T23:59:59-05:00"
    _refused(send("whop", payload), org, "whop.timestamp")


def test_a_list_as_the_typeform_form_id_is_400_naming_it(send, org):
    payload = load_fixture("typeform/form_response")
    payload["form_response"]["form_id"] = ["SaMpLe1"]
    _refused(send("typeform", payload), org, "form_id")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"1e400", b"18446744073709551616"])
def test_numbers_no_column_or_json_document_holds_are_400(send, org, literal):
    body = encode(load_fixture("stripe/charge.succeeded")).replace(b"250000", literal, 1)
    assert send("stripe", body).status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("provider", "fixture", "path", "field"),
    [
        ("whop", "whop/payment.succeeded", ("data", "total"), "PaymentObservation.amount"),
        ("stripe", "stripe/refund.created", ("data", "object", "amount"), "Refund"),
        ("close", "close/opportunity.updated", ("event", "data", "value"), "Opportunity.value"),
    ],
)
def test_an_amount_beyond_the_columns_digits_is_400(send, org, provider, fixture, path, field):
    payload = load_fixture(fixture)
    node = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = 10**15 * 100  # 15 digits before the point, in major or minor units
    _refused(send(provider, payload), org, field, "out of range")


# --- shapes the parsers read instead of crashing on --------------------------------------------


def test_a_scalar_where_close_sends_a_list_reads_as_no_entries(send, org):
    payload = load_fixture("close/contact.created")
    payload["event"]["changed_fields"] = 5
    payload["event"]["data"]["phones"] = 7
    assert send("close", payload).status_code == 200
    assert _processed(org).error == ""
    assert SourceRecord.objects.filter(org=org, provider="close").exists()


def test_a_lone_surrogate_in_an_event_id_is_stored_replaced(send, org):
    payload = load_fixture("stripe/charge.succeeded")
    payload["id"] = "evt_\ud800SA0000"
    assert send("stripe", payload).status_code == 200
    assert _processed(org).event_id == "evt_\ufffdSA0000"
    assert Payment.objects.filter(org=org).exists()


# --- accepted then failed: now every value lands, cleaned and fitted ---------------------------


def test_nul_and_lone_surrogates_in_names_and_answers_land_cleaned(send, org):
    booking = load_fixture("calendly/invitee.created")
    booking["payload"]["name"] = "Gus\x00 Marsh0"
    booking["payload"]["first_name"] = "G\udc80us"
    booking["payload"]["scheduled_event"]["name"] = "Triage\x00 Call"
    assert send("calendly", booking).status_code == 200
    assert _processed(org).error == ""
    meeting = Meeting.objects.get(org=org)
    assert meeting.event_name == "Triage Call"
    payload = SourceRecord.objects.get(org=org, provider="calendly").payload
    assert (payload["name"], payload["first_name"]) == ("Gus Marsh0", "G\ufffdus")

    form = load_fixture("typeform/form_response")
    for answer in form["form_response"]["answers"]:
        if answer["type"] == "text":
            answer["text"] += "\x00\ud83d"
    form["form_response"]["hidden"]["utm_campaign"] = "vsl\x00"
    response = send("typeform", form)
    assert response.status_code == 200
    assert Touchpoint.objects.get(org=org).utm_campaign == "vsl"


def test_strings_longer_than_their_columns_land_fitted_and_stay_whole_in_the_payload(send, org):
    long_name = "Triage Call " + "x" * 5000
    long_uri = "https://api.calendly.com/scheduled_events/SE00001/invitees/" + "I" * 400
    booking = load_fixture("calendly/invitee.created")
    booking["payload"]["uri"] = long_uri
    booking["payload"]["scheduled_event"]["name"] = long_name
    booking["payload"]["last_name"] = "M" * 400
    booking["payload"]["tracking"]["utm_source"] = "y" * 999
    assert send("calendly", booking).status_code == 200
    assert _processed(org).error == ""
    meeting = Meeting.objects.get(org=org)
    assert meeting.event_name == long_name[:255]
    # An id is never cut (two long ids could become one): it is replaced by its hash.
    assert meeting.external_id.startswith("sha256:")
    assert meeting.contact.last_name == "M" * 150
    payload = SourceRecord.objects.get(org=org, provider="calendly").payload
    assert payload["scheduled_event"]["name"] == long_name
    assert payload["uri"] == long_uri


def test_a_close_call_with_an_absurd_duration_lands_without_it(send, org):
    payload = load_fixture("close/activity.call.created")
    payload["event"]["data"]["duration"] = 2**40
    payload["event"]["data"]["disposition"] = "d" * 500
    assert send("close", payload).status_code == 200
    assert _processed(org).error == ""
    call = CallActivity.objects.get(org=org)
    assert call.duration_seconds == 0
    assert call.disposition == "d" * 100


# --- "ignored: reason", recorded --------------------------------------------------------------


def test_an_unsupported_event_is_recorded_as_ignored_with_its_reason(send, org):
    payload = load_fixture("stripe/charge.succeeded")
    payload.update(id="evt_customer", type="customer.created")
    assert send("stripe", payload).status_code == 200
    assert _processed(org).error == "ignored: unsupported event type"


def test_an_event_that_records_nothing_says_so(send, org):
    payload = load_fixture("stripe/charge.succeeded")
    payload["data"]["object"]["status"] = "failed"  # no money moved: no payment
    assert send("stripe", payload).status_code == 200
    assert _processed(org).error.startswith("ignored: nothing to record")
    assert not Payment.objects.exists()


# --- errors: the class and a value-free message, never the value ------------------------------


class _Psycopg(Exception):
    sqlstate = "22001"


def _data_error() -> DataError:
    try:
        raise _Psycopg(f"value too long: {EMAIL}")
    except _Psycopg as cause:
        try:
            raise DataError(f"value too long for type character varying(255): {EMAIL}") from cause
        except DataError as exc:
            return exc


def test_a_data_error_fails_at_once_recording_no_value(send, org, caplog):
    with mock.patch.object(webhooks, "ingest_record", side_effect=_data_error()):
        assert send("stripe", load_fixture("stripe/charge.succeeded")).status_code == 200
    event = WebhookEvent.objects.get(org=org)
    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == 1  # a value a column refuses is refused on every retry too
    assert event.error == "DataError: _Psycopg (SQLSTATE 22001)"
    assert EMAIL not in caplog.text


def test_a_retried_error_keeps_values_out_of_the_row_and_the_task_log(send, org, caplog):
    boom = RuntimeError(f"could not reach the resolver for {EMAIL}")
    with mock.patch.object(webhooks, "ingest_record", side_effect=boom):
        assert send("stripe", load_fixture("stripe/charge.succeeded")).status_code == 200
    event = WebhookEvent.objects.get(org=org)
    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == webhooks.MAX_ATTEMPTS
    assert event.error.startswith("RuntimeError")
    assert EMAIL not in event.error
    assert "retry" in caplog.text  # the task did log its retries, without the value
    assert EMAIL not in caplog.text


# --- a chunked body (gunicorn: wsgi.input_terminated, no CONTENT_LENGTH) -----------------------


def _post_chunked(client, org, body: bytes, headers: dict[str, str]):
    return client.generic(
        "POST",
        url("stripe", org.slug),
        headers=headers,
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )


def test_a_chunked_body_is_read_to_its_end_and_accepted(client, org, worker):
    body = encode(load_fixture("stripe/charge.succeeded"))
    response = _post_chunked(client, org, body, sign("stripe", body))
    assert response.status_code == 200, response.content
    assert bytes(WebhookEvent.objects.get(org=org).body) == body


@override_settings(WEBHOOK_MAX_BODY_BYTES=2048)
def test_a_chunked_body_over_the_limit_is_413(client, org, worker):
    payload = load_fixture("stripe/charge.succeeded")
    payload["data"]["object"]["metadata"] = {"padding": "x" * 4096}
    body = json.dumps(payload).encode()
    response = _post_chunked(client, org, body, sign("stripe", body))
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()

from datetime import UTC, datetime, timedelta

from attribution.sources.records import ExternalId, PersonObservation, Utm

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def person(
    source="typeform",
    *,
    email=None,
    phone=None,
    first=None,
    last=None,
    company=None,
    at=T0,
    days=0,
    utm_source=None,
    utm_campaign=None,
    ids=(),
    emails=None,
    phones=None,
) -> PersonObservation:
    return PersonObservation(
        source=source,
        observed_at=at + timedelta(days=days),
        provider_ids=tuple(ExternalId(k, v) for k, v in ids),
        emails=tuple(emails if emails is not None else ([email] if email else [])),
        phones=tuple(phones if phones is not None else ([phone] if phone else [])),
        first_name=first,
        last_name=last,
        company=company,
        utm=Utm(source=utm_source, campaign=utm_campaign),
    )

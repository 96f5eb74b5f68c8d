"""Explained match decisions between one incoming record and an existing person (a profile).

Order of evidence (DESIGN.md, "Identity resolution"): exact normalized email, exact E.164 phone,
provider ids, then a fuzzy name only with strong corroboration (company, work email domain) and
nothing against it: a personal phone or a provider id on which the two disagree vetoes a name,
and campaign and time only ever make a name a review. Two different emails never merge
automatically, and identifier values shared by too many people are never evidence.

The Django service calls :func:`record_keys` once per incoming record, finds candidate contacts
through :func:`blocking_keys`, builds each candidate's :class:`Profile` and asks :func:`decide`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jellyfish
import phonenumbers

from attribution.identity.normalize import (
    EmailNorm,
    NameNorm,
    PhoneNorm,
    fold,
    nickname_key,
    normalize_email,
    normalize_name,
    normalize_phone,
    phone_is_personal,
)

__all__ = [
    "DEFAULT_WINDOW_HOURS",
    "EMPTY_PROFILE",
    "FREE_EMAIL_DOMAINS",
    "Decision",
    "Outcome",
    "PersonRecord",
    "Profile",
    "RecordKeys",
    "blocking_keys",
    "decide",
    "may_match_by_name",
    "name_signature",
    "parse_timestamp",
    "profile_extend",
    "profile_from_records",
    "profile_merge",
    "profile_of_known",
    "record_keys",
]

# Two touches of one person through a form, a booking and a CRM entry land within days; two
# namesakes landing in the same window *and* the same campaign is rare enough to count as evidence.
DEFAULT_WINDOW_HOURS = 72

_STRONG_NAME = 0.9  # every part of the name agrees (typo-tolerant)
_WEAK_NAME = 0.8  # close, but could be a different person
_CONTRADICTING_NAME = 0.7  # below this, one name part is plainly another name
_MAX_PROFILE_TIMESTAMPS = 64

FREE_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
        "ymail.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "outlook.com",
        "outlook.de", "live.com", "live.co.uk", "msn.com", "icloud.com", "me.com", "mac.com",
        "aol.com", "protonmail.com", "proton.me", "pm.me", "gmx.de", "gmx.net", "gmx.com",
        "web.de", "t-online.de", "mail.com", "zoho.com", "yandex.ru", "yandex.com", "mail.ru",
        "qq.com", "163.com", "bigpond.com", "bigpond.net.au", "optusnet.com.au", "btinternet.com",
        "sky.com", "orange.fr", "free.fr", "laposte.net", "comcast.net", "verizon.net",
        "att.net", "sbcglobal.net", "fastmail.com", "hey.com", "tutanota.com", "libero.it",
    }
)  # fmt: skip

_COMPANY_NOISE = frozenset(
    {
        "inc", "incorporated", "llc", "ltd", "limited", "gmbh", "co", "corp", "corporation",
        "company", "plc", "pty", "sa", "ag", "bv", "srl", "sas", "the", "group", "and", "kg",
        "llp", "lp",
    }
)  # fmt: skip
_COMPANY_JUNK = frozenset(
    {"", "na", "n a", "none", "self", "self employed", "selfemployed", "freelance",
     "freelancer", "unemployed", "student", "retired", "private", "personal", "home", "test",
     "no", "nil", "null", "individual", "me", "myself"}
)  # fmt: skip


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One sighting of a person in one source, as the resolver sees it."""

    record_id: str
    source: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    company: str | None = None
    country: str | None = None  # ISO 3166 alpha-2: the default region for national phone numbers
    created_at: datetime | None = None
    utm_source: str | None = None
    utm_campaign: str | None = None
    provider_ids: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PersonRecord:
        """Build from a JSON object; only ``record_id`` is required, wrong-typed fields read as missing.

        Raises ``ValueError`` when ``record_id`` is missing or empty.
        """
        record_id = data.get("record_id")
        if isinstance(record_id, bool) or not isinstance(record_id, str | int) or record_id == "":
            raise ValueError("record_id is missing or not a non-empty string")
        return cls(
            record_id=str(record_id),
            source=_text(data.get("source")),
            email=_text(data.get("email")),
            phone=_text(data.get("phone"), allow_int=True),
            first_name=_text(data.get("first_name")),
            last_name=_text(data.get("last_name")),
            full_name=_text(data.get("full_name")),
            company=_text(data.get("company")),
            country=_text(data.get("country")),
            created_at=parse_timestamp(data.get("created_at")),
            utm_source=_text(data.get("utm_source")),
            utm_campaign=_text(data.get("utm_campaign")),
            provider_ids=_provider_ids(data.get("provider_ids")),
        )


def _text(value: object, *, allow_int: bool = False) -> str | None:
    if isinstance(value, str):
        return value
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _provider_ids(value: object) -> tuple[tuple[str, str], ...]:
    pairs: Iterable[object]
    if isinstance(value, Mapping):
        pairs = value.items()
    elif isinstance(value, list | tuple):
        pairs = value
    else:
        return ()
    out: list[tuple[str, str]] = []
    for pair in pairs:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            kind, ident = pair
            if isinstance(kind, str) and isinstance(ident, str | int) and kind and ident != "":
                out.append((kind, str(ident)))
    return tuple(out)


def parse_timestamp(value: object) -> datetime | None:
    """ISO 8601 text (a trailing Z allowed) or a datetime, as aware UTC; anything else is None."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and 0 < len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    # A naive timestamp is read as UTC: every source we ingest speaks UTC when it omits a zone.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RecordKeys:
    """Normalized, comparable view of a record: computed once, compared many times."""

    record_id: str
    email: EmailNorm | None
    phone: PhoneNorm | None
    name: NameNorm
    company: str
    campaign: str
    created_at: datetime | None
    provider_ids: frozenset[tuple[str, str]]

    @property
    def personal_email(self) -> EmailNorm | None:
        """The email if it can identify one person (not a role inbox, not a placeholder)."""
        email = self.email
        if email is None or email.is_role or email.is_junk:
            return None
        return email

    @property
    def e164(self) -> str | None:
        return self.phone.e164 if self.phone is not None else None


def record_keys(record: PersonRecord) -> RecordKeys:
    return RecordKeys(
        record_id=record.record_id,
        email=normalize_email(record.email),
        phone=normalize_phone(record.phone, default_region=record.country or "US"),
        name=normalize_name(first=record.first_name, last=record.last_name, full=record.full_name),
        company=_company_key(record.company),
        campaign=fold(record.utm_campaign) if record.utm_campaign else "",
        created_at=record.created_at,
        provider_ids=frozenset(record.provider_ids),
    )


def _company_key(company: str | None) -> str:
    if not company:
        return ""
    folded = fold(company[:200])
    if folded in _COMPANY_JUNK:
        return ""
    return "".join(token for token in folded.split() if token not in _COMPANY_NOISE)


def provider_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


# --- profiles ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything known about one existing person (a cluster, or a Contact with its identifiers)."""

    emails: frozenset[str] = frozenset()  # personal emails only: role and junk say nothing
    canonical_emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()  # valid E.164 only
    personal_phones: frozenset[str] = frozenset()  # those of ``phones`` that are PhoneNorm.personal
    provider_ids: frozenset[tuple[str, str]] = frozenset()
    names: frozenset[tuple[str, str, str]] = frozenset()  # (first, first_key, last), folded
    companies: frozenset[str] = frozenset()
    email_domains: frozenset[str] = frozenset()  # non-free domains, role inboxes included
    campaigns: frozenset[str] = frozenset()
    timestamps: tuple[datetime, ...] = field(default=())


EMPTY_PROFILE = Profile()


def profile_extend(profile: Profile | None, keys: RecordKeys) -> Profile:
    profile = profile or EMPTY_PROFILE
    email, any_email, e164 = keys.personal_email, keys.email, keys.e164
    name = keys.name
    domain = any_email.domain if any_email is not None and not any_email.is_junk else ""
    timestamps = profile.timestamps
    if keys.created_at is not None and len(timestamps) < _MAX_PROFILE_TIMESTAMPS:
        timestamps = (*timestamps, keys.created_at)
    return Profile(
        emails=profile.emails | {email.value} if email else profile.emails,
        canonical_emails=(
            profile.canonical_emails | {email.canonical} if email else profile.canonical_emails
        ),
        phones=profile.phones | {e164} if e164 else profile.phones,
        personal_phones=(
            profile.personal_phones | {e164}
            if e164 and keys.phone is not None and keys.phone.personal
            else profile.personal_phones
        ),
        provider_ids=profile.provider_ids | keys.provider_ids,
        names=(profile.names | {_name_entry(name)} if not name.is_empty else profile.names),
        companies=profile.companies | {keys.company} if keys.company else profile.companies,
        email_domains=(
            profile.email_domains | {domain}
            if domain and domain not in FREE_EMAIL_DOMAINS
            else profile.email_domains
        ),
        campaigns=profile.campaigns | {keys.campaign} if keys.campaign else profile.campaigns,
        timestamps=timestamps,
    )


def _name_entry(name: NameNorm) -> tuple[str, str, str]:
    # How a name sits in Profile.names: what _best_name_match compares.
    return (name.first, name.first_key, name.last)


def profile_from_records(records: Iterable[PersonRecord | RecordKeys]) -> Profile:
    profile = EMPTY_PROFILE
    for record in records:
        keys = record if isinstance(record, RecordKeys) else record_keys(record)
        profile = profile_extend(profile, keys)
    return profile


def profile_of_known(
    *,
    first_name: str | None,
    last_name: str | None,
    company: str | None,
    campaign: str | None,
    seen_at: datetime | None,
    emails: Iterable[str],
    phones: Iterable[str],
    provider_ids: Iterable[tuple[str, str]],
) -> Profile:
    """The profile of a person already stored: names and attributes as on the contact, every
    email normalized, every phone in E.164.

    The same Profile as ``profile_from_records`` of one record per email and phone (each with
    the company, campaign and date; the names and provider ids on the first), built in one step:
    a backfill builds one for every namesake it weighs, and phones stored in E.164 need no
    second trip through phonenumbers.
    """
    emails, phones, provider_ids = list(emails), list(phones), frozenset(provider_ids)
    if not (emails or phones or provider_ids):
        # Nothing but a name, company, campaign and date: no normalizing left to do.
        return Profile(
            names=_known_names(first_name or "", last_name or ""),
            companies=_known_company(company or ""),
            campaigns=_known_campaign(campaign or ""),
            timestamps=(seen_at,) if seen_at else (),
        )
    personal: list[EmailNorm] = []
    domains: set[str] = set()
    for value in emails:
        email = normalize_email(value)
        if email is None:
            continue
        if not email.is_junk and email.domain not in FREE_EMAIL_DOMAINS:
            domains.add(email.domain)
        if not (email.is_role or email.is_junk):
            personal.append(email)
    records = 1 + max(len(emails) - 1, 0) + max(len(phones) - 1, 0)
    return Profile(
        emails=frozenset(e.value for e in personal),
        canonical_emails=frozenset(e.canonical for e in personal),
        phones=frozenset(phones),
        personal_phones=frozenset(p for p in phones if phone_is_personal(p)),
        provider_ids=provider_ids,
        names=_known_names(first_name or "", last_name or ""),
        companies=_known_company(company or ""),
        email_domains=frozenset(domains),
        campaigns=_known_campaign(campaign or ""),
        timestamps=(seen_at,) * min(records, _MAX_PROFILE_TIMESTAMPS) if seen_at else (),
    )


# A backfill checks a million namesake sightings (may_match_by_name), of a few thousand
# distinct names, companies and campaigns: each is normalized once.
@lru_cache(maxsize=16_384)
def _known_names(first_name: str, last_name: str) -> frozenset[tuple[str, str, str]]:
    name = normalize_name(first=first_name or None, last=last_name or None)
    return frozenset() if name.is_empty else frozenset({_name_entry(name)})


@lru_cache(maxsize=4_096)
def _known_company(company: str) -> frozenset[str]:
    key = _company_key(company)
    return frozenset({key}) if key else frozenset()


@lru_cache(maxsize=4_096)
def _known_campaign(campaign: str) -> frozenset[str]:
    return frozenset({fold(campaign)}) if campaign else frozenset()


def profile_merge(a: Profile, b: Profile) -> Profile:
    return Profile(
        emails=a.emails | b.emails,
        canonical_emails=a.canonical_emails | b.canonical_emails,
        phones=a.phones | b.phones,
        personal_phones=a.personal_phones | b.personal_phones,
        provider_ids=a.provider_ids | b.provider_ids,
        names=a.names | b.names,
        companies=a.companies | b.companies,
        email_domains=a.email_domains | b.email_domains,
        campaigns=a.campaigns | b.campaigns,
        timestamps=(a.timestamps + b.timestamps)[:_MAX_PROFILE_TIMESTAMPS],
    )


# --- decisions --------------------------------------------------------------------------------


class Outcome(enum.StrEnum):
    MATCH = "match"
    REVIEW = "review"  # becomes a MergeCandidate for an admin
    NO_MATCH = "no_match"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    score: float  # 0..1, how sure; only comparable between decisions of the same outcome
    reasons: tuple[str, ...]
    # The kinds of identifier on which the record and the profile disagree ("phone", "email",
    # "close_lead", ...): evidence that they are two people, whatever else matched.
    conflicts: tuple[str, ...] = ()
    # True when the record shares an identifier with the profile (email, mailbox, phone,
    # provider id) rather than only a name: what lets a batch join clusters through the record.
    by_identifier: bool = False


def decide(
    record_keys: RecordKeys,
    profile: Profile,
    *,
    shared: frozenset[str] = frozenset(),
    window_hours: float = DEFAULT_WINDOW_HOURS,
) -> Decision:
    """Decide whether ``record_keys`` is the person behind ``profile``.

    ``shared`` holds identifier values that are not evidence (seen on too many people, or blocked
    by the org): email values, canonical emails, E.164 phones and ``kind:value`` provider ids.

    The rules, strongest evidence first:

    - A shared identifier (the same email, phone or provider id, none of them shared by too many
      people) matches, unless the names plainly differ (a couple at one home phone) or a
      provider id of the same kind disagrees: then an admin decides. A second email beside a
      shared phone or provider id goes to an admin (DESIGN: two different emails never merge
      automatically), and so does a landline or switchboard without an agreeing name.
    - The same mailbox (gmail dots, a +tag) matches with an agreeing name.
    - A name alone never outweighs evidence against it. Two records that each carry a valid
      personal phone, or a provider id of one kind, and disagree on it are two people: a name
      match then is NO_MATCH (REVIEW only when a company or work domain also agrees). A
      different personal email is weaker (people have several): the name can still be REVIEW.
    - With nothing against it, a name MATCHes only with strong corroboration (same company, same
      work email domain); two different numbers of which one is a landline or a switchboard
      are no veto, but leave it to an admin. Campaign and time are weak: on a shared name they happen by chance,
      so they lift a name to REVIEW and never to MATCH. A landline, a role inbox or a
      placeholder email is never a conflict: desks and households are shared.
    """
    keys = record_keys
    email = keys.personal_email
    if email is not None and (email.value in shared or email.canonical in shared):
        email = None
    profile_canonicals = profile.canonical_emails - shared if shared else profile.canonical_emails

    if email is not None and email.value in profile.emails:
        return Decision(Outcome.MATCH, 1.0, ("same email",), by_identifier=True)

    email_conflict = (
        email is not None and bool(profile_canonicals) and email.canonical not in profile_canonicals
    )
    same_mailbox = email is not None and email.canonical in profile_canonicals

    identifier_reasons: list[str] = []
    e164 = keys.e164
    if e164 is not None and e164 in shared:
        e164 = None
    if e164 is not None and e164 in profile.phones:
        identifier_reasons.append(f"same phone {e164}")
    for kind, value in sorted(keys.provider_ids & profile.provider_ids):
        if provider_key(kind, value) not in shared:
            identifier_reasons.append(f"same {kind} {value}")

    if identifier_reasons:
        conflicts = _conflicts(keys, e164, profile, shared)
        name = _best_name_match(keys.name, profile.names)
        if (name is not None and name.contradicts) or _parts_contradict(keys.name, profile.names):
            score = f"jw={name.score:.2f}" if name is not None else "first or last name"
            return Decision(
                Outcome.REVIEW,
                0.6,
                (*identifier_reasons, f"but different names ({score})"),
                by_identifier=True,
            )
        only_phone = len(identifier_reasons) == 1 and e164 is not None and e164 in profile.phones
        if (
            only_phone
            and not (keys.phone is not None and keys.phone.personal)
            and (name is None or name.score < _STRONG_NAME)
        ):
            # A landline or a switchboard is shared by a desk, an office or a household: it
            # says who someone is only with a name that agrees.
            return Decision(
                Outcome.REVIEW,
                0.5,
                (*identifier_reasons, "a landline or switchboard, without an agreeing name"),
                by_identifier=True,
            )
        provider_conflicts = [c for c in conflicts if c.kind not in ("phone", "email")]
        if provider_conflicts:
            return Decision(
                Outcome.REVIEW,
                0.6,
                (*identifier_reasons, *(c.reason for c in provider_conflicts)),
                conflicts=tuple(c.kind for c in conflicts),
                by_identifier=True,
            )
        if email_conflict:
            return _review_different_emails(
                0.7, identifier_reasons, email, profile_canonicals, by_identifier=True
            )
        if same_mailbox:
            identifier_reasons.append("same mailbox (dots/+tag)")
        return Decision(Outcome.MATCH, 0.95, tuple(identifier_reasons), by_identifier=True)

    if same_mailbox:
        assert email is not None  # same_mailbox implies it; narrows the type
        name = _best_name_match(keys.name, profile.names)
        if name is not None and name.score >= _STRONG_NAME - 0.05:
            return Decision(
                Outcome.MATCH,
                0.9,
                (f"same mailbox {email.canonical} (dots/+tag)", f"name jw={name.score:.2f}"),
                by_identifier=True,
            )
        return Decision(
            Outcome.REVIEW,
            0.6,
            (f"same mailbox {email.canonical} (dots/+tag) without a corroborating name",),
            by_identifier=True,
        )

    # Corroboration is a few set lookups, the name comparison is not: most candidates from a
    # name block are namesakes with nothing else in common, so rule them out first.
    strong, weak = _corroboration(keys, profile, window_hours=window_hours)
    if not strong and not weak:
        return Decision(Outcome.NO_MATCH, 0.0, ("no shared identifier, nothing corroborating",))
    conflicts = _conflicts(keys, e164, profile, shared)
    hard = [c for c in conflicts if c.kind != "email"]
    if hard and not strong:
        # Namesakes with two different phones who came through one campaign in one week: the
        # commonest false merge there is. Vetoed before the names are even compared.
        return Decision(
            Outcome.NO_MATCH,
            0.0,
            tuple(c.reason for c in hard),
            conflicts=tuple(c.kind for c in conflicts),
        )
    name = _best_name_match(keys.name, profile.names)
    if name is None or name.score < _WEAK_NAME:
        return Decision(Outcome.NO_MATCH, 0.1, ("no shared identifier, names differ",))
    reason = f"name jw={name.score:.2f} + " + " + ".join(strong + weak)
    if hard:
        return Decision(
            Outcome.REVIEW,
            0.3,
            (reason, *(c.reason for c in hard)),
            conflicts=tuple(c.kind for c in conflicts),
        )
    if email_conflict:
        decision = _review_different_emails(0.5, [reason], email, profile_canonicals)
        return replace(decision, conflicts=("email",))
    if e164 is not None and profile.phones and e164 not in profile.phones:
        others = profile.phones - shared if shared else profile.phones
        if others:
            # Two different numbers, one a landline or a switchboard: no veto (a desk is
            # shared), but not a name's to override either.
            return Decision(
                Outcome.REVIEW, 0.4, (reason, "but a different landline or switchboard")
            )
    if name.score >= _STRONG_NAME and strong:
        return Decision(Outcome.MATCH, 0.85, (reason,))
    return Decision(Outcome.REVIEW, 0.5, (reason,))


@dataclass(frozen=True, slots=True)
class _Conflict:
    kind: str
    reason: str


def _conflicts(
    keys: RecordKeys, e164: str | None, profile: Profile, shared: frozenset[str]
) -> list[_Conflict]:
    """Identifiers of one kind that the record and the profile each hold and disagree on.

    Phones count only when both sides are personal numbers (see ``PhoneNorm.personal``) and not
    shared; emails only when both are personal (no role inbox, no placeholder) and not shared.
    Called for most candidates: the common case (nothing to compare) returns before any set
    is built, and reasons are formatted only for a conflict.
    """
    out: list[_Conflict] = []
    phone = keys.phone
    if (
        e164 is not None
        and profile.personal_phones
        and phone is not None
        and phone.personal
        and e164 not in profile.phones
    ):
        others = profile.personal_phones - shared if shared else profile.personal_phones
        if others:
            out.append(
                _Conflict("phone", f"conflicting phone: {_mask(e164)} vs {_mask(min(others))}")
            )
    email = keys.personal_email
    if (
        email is not None
        and profile.canonical_emails
        and email.canonical not in profile.canonical_emails
        and email.canonical not in shared
        and email.value not in shared
    ):
        canonicals = profile.canonical_emails - shared if shared else profile.canonical_emails
        if canonicals:
            out.append(_Conflict("email", "conflicting email"))
    if keys.provider_ids and profile.provider_ids:
        for kind in sorted({kind for kind, _ in keys.provider_ids}):
            mine = {v for k, v in keys.provider_ids if k == kind}
            theirs = {
                v for k, v in profile.provider_ids if k == kind and provider_key(k, v) not in shared
            }
            if theirs and not mine & theirs:
                out.append(_Conflict(kind, f"conflicting {kind}"))
    return out


def _mask(e164: str) -> str:
    # Reasons are shown in admin and kept with review pairs: the country code and the last two
    # digits tell an admin which number is meant without spelling out someone's phone.
    head = _country_prefix(e164)
    return head + "\u2022" * max(len(e164) - len(head) - 2, 0) + e164[-2:]


@lru_cache(maxsize=65_536)
def _country_prefix(e164: str) -> str:
    try:
        return f"+{phonenumbers.parse(e164, None).country_code}"
    except phonenumbers.NumberParseException:
        return e164[:2]


def may_match_by_name(
    record_keys: RecordKeys,
    *,
    first_name: str | None,
    last_name: str | None,
    company: str | None,
    campaign: str | None,
    seen_at: datetime | None,
    window_hours: float = DEFAULT_WINDOW_HOURS,
) -> bool:
    """Whether ``decide`` could say anything but NO_MATCH for a namesake known only by its names,
    company, campaign and date (its emails, phones and provider ids not read yet).

    A namesake holding one of the record's own emails, mailboxes, phones or provider ids is found
    by that value, not by its name; for any other, only a corroborated name can count, and the
    one corroboration that needs its identifiers is a shared work domain. False means NO_MATCH
    whatever identifiers it turns out to hold, so a backfill never has to read them.

    Nothing is built per namesake: its parts are compared through the caches that every
    profile's names, company and campaign come from, cheap corroboration first (most namesakes
    share neither campaign, company nor dates with the record).
    """
    keys = record_keys
    email = keys.email
    if email is None or email.is_junk or email.domain in FREE_EMAIL_DOMAINS:
        # No work domain a namesake's emails could share: something else must corroborate.
        strong, weak = _corroborating(
            keys,
            email_domains=frozenset(),
            companies=_known_company(company or ""),
            campaigns=_known_campaign(campaign or ""),
            timestamps=(seen_at,) if seen_at else (),
            window_hours=window_hours,
        )
        if not strong and not weak:
            return False
    name = _best_name_match(keys.name, _known_names(first_name or "", last_name or ""))
    return name is not None and name.score >= _WEAK_NAME


def _review_different_emails(
    score: float,
    reasons: list[str],
    email: EmailNorm | None,
    others: frozenset[str],
    *,
    by_identifier: bool = False,
) -> Decision:
    assert email is not None  # only called on a conflict, which needs an email
    other = min(others)
    return Decision(
        Outcome.REVIEW,
        score,
        (*reasons, f"but different emails {email.canonical} / {other}"),
        conflicts=("email",),
        by_identifier=by_identifier,
    )


def _corroboration(
    keys: RecordKeys, profile: Profile, *, window_hours: float
) -> tuple[list[str], list[str]]:
    return _corroborating(
        keys,
        email_domains=profile.email_domains,
        companies=profile.companies,
        campaigns=profile.campaigns,
        timestamps=profile.timestamps,
        window_hours=window_hours,
    )


def _corroborating(
    keys: RecordKeys,
    *,
    email_domains: frozenset[str],
    companies: frozenset[str],
    campaigns: frozenset[str],
    timestamps: tuple[datetime, ...],
    window_hours: float,
) -> tuple[list[str], list[str]]:
    strong: list[str] = []
    weak: list[str] = []
    email = keys.email
    if (
        email is not None
        and not email.is_junk
        and email.domain not in FREE_EMAIL_DOMAINS
        and email.domain in email_domains
    ):
        strong.append(f"same email domain {email.domain}")
    if keys.company and keys.company in companies:
        strong.append("same company")
    if keys.campaign and keys.campaign in campaigns:
        weak.append("same campaign")
    created_at = keys.created_at
    if created_at is not None and timestamps:
        window = _window(window_hours)
        for seen in timestamps:
            if abs(created_at - seen) <= window:
                weak.append(f"seen within {window_hours:g}h")
                break
    return strong, weak


@lru_cache(maxsize=16)
def _window(hours: float) -> timedelta:
    return timedelta(hours=hours)


# --- names ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NameMatch:
    score: float  # the weaker of first-name and last-name similarity, best orientation
    contradicts: bool  # both names complete and one part is plainly another name


def _best_name_match(name: NameNorm, known: frozenset[tuple[str, str, str]]) -> _NameMatch | None:
    if name.is_empty or not known:
        return None
    best: _NameMatch | None = None
    for first, first_key, last in known:
        match = _compare_names(name.first, name.first_key, name.last, first, first_key, last)
        if match is not None and (best is None or match.score > best.score):
            best = match
    return best


@lru_cache(maxsize=1 << 16)
def _compare_names(
    a_first: str, a_key: str, a_last: str, b_first: str, b_key: str, b_last: str
) -> _NameMatch | None:
    if not (a_first and a_last and b_first and b_last):
        # A lone first name (or surname) identifies nobody: no evidence, no contradiction.
        return None
    direct = min(
        _first_similarity(a_first, a_key, b_first, b_key), _last_similarity(a_last, b_last)
    )
    if direct >= _STRONG_NAME:
        return _NameMatch(direct, contradicts=False)
    # "Smith John": sources that only have a full name get the order wrong.
    swapped = min(
        _first_similarity(a_last, nickname_key(a_last), b_first, b_key),
        _first_similarity(a_first, a_key, b_last, nickname_key(b_last)),
    )
    score = max(direct, swapped)
    return _NameMatch(score, contradicts=score < _CONTRADICTING_NAME)


def _parts_contradict(name: NameNorm, known: frozenset[tuple[str, str, str]]) -> bool:
    """Whether every known name plainly differs from ``name`` on a part both have.

    Complete names are weighed by ``_compare_names``; this catches the records that carry a
    first name (or a surname) only: "Sandra" is no evidence for "Sandra Woods", but it is
    evidence against "Jack Khan" (either order, since sources swap them).
    """
    if name.is_empty or not known:
        return False
    if name.first and name.last and all(first and last for first, _, last in known):
        return False  # complete on both sides: _compare_names weighs them
    for first, first_key, last in known:
        if not (first or last):
            return False
        scores = []
        if name.first and first:
            scores.append(_first_similarity(name.first, name.first_key, first, first_key))
        if name.last and last:
            scores.append(_last_similarity(name.last, last))
        if name.first and last:
            scores.append(_first_similarity(name.first, name.first_key, last, nickname_key(last)))
        if name.last and first:
            scores.append(_first_similarity(name.last, nickname_key(name.last), first, first_key))
        if not scores or max(scores) >= _CONTRADICTING_NAME:
            return False
    return True


def _first_similarity(a_first: str, a_key: str, b_first: str, b_key: str) -> float:
    if a_key == b_key:
        return 1.0
    a_head = a_first.split(" ", 1)[0]
    b_head = b_first.split(" ", 1)[0]
    # "J. Smith" against "John Smith": an initial is consistent, not proof.
    if (len(a_head) == 1 or len(b_head) == 1) and a_head[0] == b_head[0]:
        return 0.9
    return max(
        jellyfish.jaro_winkler_similarity(a_head, b_head),
        jellyfish.jaro_winkler_similarity(a_key, b_key),
    )


def _last_similarity(a_last: str, b_last: str) -> float:
    if a_last == b_last:
        return 1.0
    a_tokens, b_tokens = a_last.split(), b_last.split()
    # "Garcia" against "Garcia Marquez": one source dropped the second surname.
    if set(a_tokens) & set(b_tokens) and (len(a_tokens) > 1 or len(b_tokens) > 1):
        return 0.95
    return jellyfish.jaro_winkler_similarity(a_last.replace(" ", ""), b_last.replace(" ", ""))


# --- blocking ---------------------------------------------------------------------------------


def blocking_keys(keys: RecordKeys, *, shared: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Keys under which candidates for ``keys`` are indexed; any shared one gives a candidate.

    Identifier keys (``e:``, ``c:``, ``p:``, ``i:``) find identifier matches; name keys (``n:``)
    find the namesakes a fuzzy-name decision needs, both name orders included.
    """
    out: list[str] = []
    email = keys.personal_email
    if email is not None and email.value not in shared and email.canonical not in shared:
        out.append("e:" + email.value)
        out.append("c:" + email.canonical)
    e164 = keys.e164
    if e164 is not None and e164 not in shared:
        out.append("p:" + e164)
    for kind, value in sorted(keys.provider_ids):
        key = provider_key(kind, value)
        if key not in shared:
            out.append("i:" + key)
    name = keys.name
    if name.first and name.last:
        last = name.last.replace(" ", "")
        first_head = name.first.split(" ", 1)[0]
        out.append(f"n:{_soundex(last)}:{name.first_key[0]}")
        swapped = f"n:{_soundex(first_head)}:{nickname_key(last)[0]}"
        if swapped != out[-1]:
            out.append(swapped)
    return tuple(out)


def name_signature(name: NameNorm) -> frozenset[str] | None:
    """A coarse, order-free key that the name variants of one person share (nicknames, typos).

    Used to count how many *different people* carry an identifier value.
    """
    if not (name.first and name.last):
        return None
    return frozenset((_soundex(name.first_key), _soundex(name.last.replace(" ", ""))))


# Every record's blocking keys and name signature take three or four of these, over a few
# thousand distinct name tokens.
@lru_cache(maxsize=65_536)
def _soundex(token: str) -> str:
    if token.isascii() and token.isalpha():
        return jellyfish.soundex(token)
    return token[:4]

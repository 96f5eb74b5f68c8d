"""Normalizers for the identifiers people leave in forms, calendars, CRMs and checkouts.

Every normalizer is total (junk in, ``None`` or an empty value out, never an exception) and
idempotent (normalizing its own output changes nothing), because webhook payloads are untrusted and
re-resolution runs the same code over already-normalized identifiers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

__all__ = [
    "EmailNorm",
    "NameNorm",
    "PhoneNorm",
    "fold",
    "nickname_key",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "phone_is_personal",
]

# Longer inputs are not identifiers; capping them keeps a hostile payload from costing regex time.
_MAX_EMAIL_LEN = 254
_MAX_PHONE_LEN = 64
_MAX_NAME_LEN = 200


# --- email ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailNorm:
    value: str  # trimmed and lowercased: the exact identifier
    canonical: str  # mailbox key: +tags gone everywhere, gmail dots gone: weaker evidence
    domain: str
    is_role: bool  # a shared inbox (info@, sales@): says nothing about one person
    is_junk: bool  # placeholder typed to get past a form (test@test.com)


_LOCAL_RE = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_DOMAIN_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")

_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

_ROLE_LOCALS = frozenset(
    {
        "abuse", "accounts", "accounting", "admin", "administrator", "bookings", "billing",
        "careers", "contact", "contactus", "customerservice", "do-not-reply", "donotreply",
        "enquiries", "enquiry", "finance", "hello", "help", "helpdesk", "hi", "hr", "info",
        "inquiries", "jobs", "mail", "marketing", "media", "no-reply", "noreply", "office",
        "orders", "postmaster", "press", "privacy", "reception", "sales", "security", "service",
        "support", "team", "webmaster",
    }
)  # fmt: skip

_JUNK_DOMAINS = frozenset(
    {
        "example.com", "example.net", "example.org", "test.com", "test.test", "email.com",
        "mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com",
        "sharklasers.com", "fake.com", "nowhere.com", "domain.com", "asdf.com", "none.com",
        "noemail.com", "no-email.com",
    }
)  # fmt: skip
_JUNK_TLDS = frozenset({"test", "example", "invalid", "localhost", "local"})
_JUNK_LOCALS = frozenset(
    {
        "test", "testing", "tester", "asdf", "qwerty", "fake", "none", "null", "nobody",
        "noemail", "no-email", "nomail", "na", "n-a", "xxx", "abc", "aaa", "foo", "bar",
        "noreply", "no-reply", "donotreply", "do-not-reply", "user", "email", "sample",
    }
)  # fmt: skip


def normalize_email(raw: object) -> EmailNorm | None:
    """Return the normalized email, or ``None`` when ``raw`` is not an email address."""
    if isinstance(raw, EmailNorm):
        return raw
    if not isinstance(raw, str) or len(raw) > _MAX_EMAIL_LEN * 2:
        return None
    return _normalize_email_text(raw)


@lru_cache(maxsize=65536)
def _normalize_email_text(raw: str) -> EmailNorm | None:
    text = raw.strip().lower()
    # Forms and CRMs hand over "Name <a@b.com>" and "mailto:a@b.com" more often than one would hope.
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1].strip()
    text = text.removeprefix("mailto:").rstrip(".")
    if len(text) > _MAX_EMAIL_LEN or text.count("@") != 1:
        return None
    local, domain = text.split("@")
    domain = domain.rstrip(".")
    if (
        not local
        or len(local) > 64
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or not _LOCAL_RE.fullmatch(local)
        or not _DOMAIN_RE.fullmatch(domain)
    ):
        return None
    value = f"{local}@{domain}"
    # "a.+tag" must not leave "a." behind: the canonical form is an address too.
    base_local = local.split("+", 1)[0].strip(".") or local
    canonical_domain = domain
    if domain in _GMAIL_DOMAINS:
        canonical_domain = "gmail.com"
        base_local = base_local.replace(".", "") or base_local
    return EmailNorm(
        value=value,
        canonical=f"{base_local}@{canonical_domain}",
        domain=domain,
        is_role=base_local in _ROLE_LOCALS,
        is_junk=_is_junk_email(base_local, domain),
    )


def _is_junk_email(local: str, domain: str) -> bool:
    if domain in _JUNK_DOMAINS or domain.rsplit(".", 1)[-1] in _JUNK_TLDS:
        return True
    if local in _JUNK_LOCALS:
        return True
    label = domain.split(".", 1)[0]
    # a@a.com, abc@abc.com, x@y.co: nobody's real inbox, typed to get past a required field.
    if local == label or (len(local) == 1 and len(label) == 1):
        return True
    return len(set(local)) == 1 and len(local) > 2  # aaaa@..., xxxx@...


# --- phone ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhoneNorm:
    raw: str  # the text as given (trimmed); kept even when invalid so nothing typed is lost
    e164: str | None  # None when invalid: then it is never used for matching
    valid: bool
    # Whether the number can be one person's own (a mobile, or a number whose plan does not tell
    # mobiles from landlines, as in North America), written without an extension. A fixed line,
    # a switchboard extension or a toll-free number is a desk,
    # a switchboard or a household: two people may each have one besides their own phone, so
    # two different ones are no evidence that two records are two people.
    personal: bool = False


# Letters other than an extension marker mean text, not a number: phonenumbers would otherwise read
# "call me" or an email address as a vanity number.
_PHONE_JUNK_RE = re.compile(r"[^0-9+()\-./ xXextEXT#,;:=]")


def normalize_phone(raw: object, default_region: str | None = "US") -> PhoneNorm | None:
    """Return the phone in E.164 (extension dropped), or ``None`` when there are no digits at all.

    A string that has digits but is not a valid number comes back with ``e164=None``.
    """
    if isinstance(raw, PhoneNorm):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = " ".join(raw.split())
    if text[:4].lower() == "tel:":
        text = text[4:].strip()
    if not any(ch.isdigit() for ch in text[: _MAX_PHONE_LEN * 4]):
        return None
    region = default_region.upper() if isinstance(default_region, str) else "US"
    if region not in _SUPPORTED_REGIONS:
        region = "US"
    return _normalize_phone_text(text, region)


_SUPPORTED_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


# Separators people put between digits. A text of digits and these alone reads the same as its
# digits alone (phonenumbers drops them before parsing), so it is cached under the digits:
# "(415) 555-0132", "415.555.0132" and "4155550132" are one parse.
_PHONE_PUNCTUATION = str.maketrans("", "", " ()-./")
_DIGITS_ONLY_RE = re.compile(r"\+?[0-9]+")


def _normalize_phone_text(text: str, region: str) -> PhoneNorm:
    if len(text) > _MAX_PHONE_LEN or _PHONE_JUNK_RE.search(text):
        return PhoneNorm(raw=text, e164=None, valid=False)
    digits = text.translate(_PHONE_PUNCTUATION)
    # International prefixes ("00", "+0") and a trunk zero in parentheses, "+44 (0)20", are
    # read differently by phonenumbers with their separators: those texts are parsed whole.
    if (
        _DIGITS_ONLY_RE.fullmatch(digits)
        and not digits.startswith(("00", "+0"))
        and "(0" not in text
    ):
        parsed = _parse_digits(digits, region)
    else:  # extensions and the like: phonenumbers reads the whole text
        parsed = _parse_text(text, region)
    if parsed is None:
        return PhoneNorm(raw=text, e164=None, valid=False)
    e164, personal = parsed
    return PhoneNorm(raw=text, e164=e164, valid=True, personal=personal)


@lru_cache(maxsize=65536)
def _parse_digits(digits: str, region: str) -> tuple[str, bool] | None:
    return _parse_text(digits, region)


@lru_cache(maxsize=16384)
def _parse_text(text: str, region: str) -> tuple[str, bool] | None:
    parsed = _parse_e164(text, region)
    # "0044 20 ..." typed in a US-default form: 00 is the international prefix most of the world
    # uses, so try it as "+" before giving up.
    if parsed is None and text.startswith("00"):
        parsed = _parse_e164("+" + text[2:], region)
    return parsed


_PERSONAL_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
        phonenumbers.PhoneNumberType.VOIP,
    }
)


def _parse_e164(text: str, region: str) -> tuple[str, bool] | None:
    if text[:1] == "+" and text[1:2] in "123456789":
        # No region applies to an international number ("+0..." reads the region's own
        # international prefix after the "+", so it keeps its region).
        region = "ZZ"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    checked = _check_number(
        number.country_code, number.national_number, bool(number.italian_leading_zero),
        number.number_of_leading_zeros or 1,
    )  # fmt: skip
    if checked is not None and number.extension:
        # An extension means a switchboard: the number behind it is an office's, not a person's.
        return checked[0], False
    return checked


@lru_cache(maxsize=65536)
def _check_number(
    country_code: int, national_number: int, leading_zero: bool, leading_zeros: int
) -> tuple[str, bool] | None:
    # One number reaches here from several spellings (national, international, 00-prefixed):
    # validity and type are worked out once. ``number_type`` is UNKNOWN exactly when
    # ``is_valid_number`` is False, so one call gives both.
    number = phonenumbers.PhoneNumber(
        country_code=country_code,
        national_number=national_number,
        italian_leading_zero=leading_zero or None,
        number_of_leading_zeros=leading_zeros if leading_zero else None,
    )
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, kind in _PERSONAL_TYPES


@lru_cache(maxsize=65536)
def phone_is_personal(e164: str) -> bool:
    """``PhoneNorm.personal`` of a stored E.164 number (False for anything not valid E.164)."""
    phone = _normalize_phone_text(e164, "ZZ")
    return phone.personal and phone.e164 == e164


# --- names ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameNorm:
    first: str  # folded: accents gone, lowercase, letters and single spaces
    last: str
    first_key: str  # first token of ``first`` through the nickname table: bob -> robert
    display_first: str  # cleaned, original case
    display_last: str

    @property
    def display(self) -> str:
        return " ".join(part for part in (self.display_first, self.display_last) if part)

    @property
    def full(self) -> str:
        return " ".join(part for part in (self.first, self.last) if part)

    @property
    def is_empty(self) -> bool:
        return not (self.first or self.last)


_TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "madam",
        "rev", "fr", "herr", "frau", "mme", "mlle", "sr", "sra", "srta", "don", "dona",
    }
)  # fmt: skip
_SUFFIXES = frozenset(
    {"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "mba", "cpa", "dds", "jnr", "snr"}
)

# Letters NFKD does not decompose into a base letter plus a combining mark.
_FOLD_TABLE = str.maketrans(
    {
        "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l",
        "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i",
    }
)  # fmt: skip

_NICKNAMES: dict[str, str] = {
    "abby": "abigail", "al": "albert", "alex": "alexander", "andy": "andrew", "drew": "andrew",
    "tony": "anthony", "ben": "benjamin", "benny": "benjamin", "bob": "robert", "bobby": "robert",
    "rob": "robert", "robbie": "robert", "bert": "robert", "chuck": "charles", "charlie": "charles",
    "chris": "christopher", "dan": "daniel", "danny": "daniel", "dave": "david", "davy": "david",
    "ed": "edward", "eddie": "edward", "ted": "edward", "ned": "edward", "liz": "elizabeth",
    "lizzie": "elizabeth", "beth": "elizabeth", "betsy": "elizabeth", "betty": "elizabeth",
    "eliza": "elizabeth", "libby": "elizabeth", "frank": "francis", "fred": "frederick",
    "freddie": "frederick", "greg": "gregory", "hank": "henry", "harry": "henry", "jim": "james",
    "jimmy": "james", "jamie": "james", "jen": "jennifer", "jenny": "jennifer", "jack": "john",
    "johnny": "john", "jon": "jonathan", "joe": "joseph", "joey": "joseph", "josh": "joshua",
    "kate": "katherine", "katie": "katherine", "kathy": "katherine", "kat": "katherine",
    "catherine": "katherine", "kathryn": "katherine", "larry": "lawrence", "matt": "matthew",
    "maggie": "margaret", "meg": "margaret", "peggy": "margaret", "mike": "michael",
    "mikey": "michael", "mick": "michael", "nate": "nathan", "nick": "nicholas",
    "pat": "patrick", "patty": "patricia", "trish": "patricia", "pete": "peter", "ray": "raymond",
    "rick": "richard", "ricky": "richard", "rich": "richard", "dick": "richard", "ron": "ronald",
    "sam": "samuel", "sammy": "samuel", "steve": "stephen", "steven": "stephen",
    "sue": "susan", "suzy": "susan", "tom": "thomas", "tommy": "thomas", "tim": "timothy",
    "vicky": "victoria", "vic": "victor", "bill": "william", "billy": "william",
    "will": "william", "willy": "william", "liam": "william", "zach": "zachary",
    "jeff": "jeffrey", "geoff": "geoffrey", "ken": "kenneth", "kenny": "kenneth",
    "jess": "jessica", "jessie": "jessica", "becky": "rebecca", "becca": "rebecca",
    "cathy": "katherine", "debbie": "deborah", "deb": "deborah", "mandy": "amanda",
    "pam": "pamela", "sandy": "sandra", "stan": "stanley", "walt": "walter", "wally": "walter",
}  # fmt: skip


# ASCII fast path of ``fold``: separators become spaces, apostrophes vanish, other symbols too.
_ASCII_FOLD = str.maketrans(
    {
        chr(i): (chr(i).lower() if chr(i).isalnum() else " " if chr(i) in " -._,\t\n" else "")
        for i in range(128)
    }
)


def fold(text: str) -> str:
    """Accent-free lowercase letters and digits, single-spaced: the form names are compared in."""
    if text.isascii():
        return " ".join(text.translate(_ASCII_FOLD).split())
    text = unicodedata.normalize("NFKD", text.translate(_FOLD_TABLE))
    out: list[str] = []
    for ch in text:
        if ch.isalnum() and ch.isascii():
            out.append(ch.lower())
        elif ch.isalpha() and not unicodedata.combining(ch):
            # Non-Latin scripts keep their letters: folding them to nothing would make every
            # Cyrillic or CJK name equal to every other.
            out.append(ch.casefold())
        elif ch in " -'’._,\t\n":
            out.append(" " if ch not in "'’" else "")
    return " ".join("".join(out).split())


def nickname_key(token: str) -> str:
    """The formal first name behind a folded nickname (bob -> robert); other names unchanged."""
    return _NICKNAMES.get(token, token)


def normalize_name(first: object = None, last: object = None, full: object = None) -> NameNorm:
    """Normalize a person's name from whatever parts a source gave.

    ``first``/``last`` win over ``full``; a lone ``first`` with several words is read as a full
    name; ``full`` in "Last, First" order is turned around. Round-tripping
    ``normalize_name(first=n.display_first, last=n.display_last)`` returns ``n``.
    """
    if isinstance(first, NameNorm):
        return first
    first_text, last_text, full_text = _as_text(first), _as_text(last), _as_text(full)
    return _normalize_name_text(first_text, last_text, full_text)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value[:_MAX_NAME_LEN]
    return ""


@lru_cache(maxsize=65536)
def _normalize_name_text(first: str, last: str, full: str) -> NameNorm:
    first_tokens = _clean_tokens(first, strip_titles=True)
    last_tokens = _clean_tokens(last, strip_titles=False)
    if not first_tokens and not last_tokens:
        first_tokens, last_tokens = _split_full(full)
    elif not last_tokens and len(first_tokens) > 1:
        first_tokens, last_tokens = first_tokens[:1], first_tokens[1:]
    display_first = " ".join(first_tokens)
    display_last = " ".join(last_tokens)
    folded_first = fold(display_first)
    folded_last = fold(display_last)
    head = folded_first.split(" ", 1)[0]
    return NameNorm(
        first=folded_first,
        last=folded_last,
        first_key=_NICKNAMES.get(head, head),
        display_first=display_first,
        display_last=display_last,
    )


def _split_full(full: str) -> tuple[list[str], list[str]]:
    if "," in full:
        before, _, after = full.partition(",")
        before_tokens = _clean_tokens(before, strip_titles=True)
        after_tokens = _clean_tokens(after, strip_titles=True)
        # "Smith, John" is Last, First; "John Smith, Jr." is a name followed by a suffix.
        if before_tokens and after_tokens:
            return after_tokens, before_tokens
        tokens = before_tokens or after_tokens
    else:
        tokens = _clean_tokens(full, strip_titles=True)
    if len(tokens) <= 1:
        return tokens, []
    return tokens[:1], tokens[1:]


def _clean_tokens(text: str, *, strip_titles: bool) -> list[str]:
    tokens: list[str] = []
    for raw_token in text.replace(",", " ").split():
        if "@" in raw_token:  # an email typed into a name field is not a name
            continue
        # Most tokens are letters only; the character walk is for the rest.
        token = (
            raw_token
            if raw_token.isalpha()
            else "".join(ch for ch in raw_token if ch.isalpha() or ch in "-'’.")
        )
        token = token.strip("-'’.")
        if not token:
            continue
        key = fold(token).replace(" ", "")
        if not key:
            continue
        if key in _SUFFIXES and tokens:
            continue
        if strip_titles and not tokens and key in _TITLES and "." in raw_token:
            continue
        if strip_titles and not tokens and key in _TITLES and len(key) > 1 and key != "don":
            continue
        tokens.append(token)
    return tokens

"""Normalizers: identifiers as people type them, junk included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.identity.normalize import (
    EmailNorm,
    PhoneNorm,
    _parse_text,
    fold,
    normalize_email,
    normalize_name,
    normalize_phone,
)

junk = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
    st.sampled_from(["😀@😀.com", "🎉", "@", "a@", "@b.com", "a@@b.com", "x" * 100_000]),
    st.lists(st.text(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
emailish = st.builds(
    lambda local, domain, tld, pad: f"{pad}{local}@{domain}.{tld}{pad}",
    st.from_regex(r"[A-Za-z0-9._+-]{1,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9-]{1,15}", fullmatch=True),
    st.sampled_from(["com", "co.uk", "DE", "io"]),
    st.sampled_from(["", " ", "\t"]),
)
phoneish = st.builds(
    lambda digits, sep, ext: sep.join(digits) + ext,
    st.lists(st.from_regex(r"\+?[0-9]{1,5}", fullmatch=True), min_size=1, max_size=5),
    st.sampled_from([" ", "-", ".", ""]),
    st.sampled_from(["", " ext. 12", " x9", ";ext=7"]),
)


# --- email --------------------------------------------------------------------------------------


@given(st.one_of(junk, emailish))
def test_email_normalization_never_raises_and_is_idempotent(raw: object) -> None:
    email = normalize_email(raw)
    if email is not None:
        assert normalize_email(email.value) == email
        assert normalize_email(email) == email
        assert normalize_email(email.canonical) is not None


@given(emailish)
def test_email_canonical_is_a_fixed_point(raw: str) -> None:
    email = normalize_email(raw)
    if email is not None:
        canonical = normalize_email(email.canonical)
        assert canonical is not None and canonical.canonical == email.canonical


def test_it_trims_and_lowercases_an_email() -> None:
    email = normalize_email("  Jane.Doe@Example-Corp.COM ")
    assert email == EmailNorm(
        value="jane.doe@example-corp.com",
        canonical="jane.doe@example-corp.com",
        domain="example-corp.com",
        is_role=False,
        is_junk=False,
    )


def test_it_folds_gmail_dots_plus_tags_and_googlemail_into_the_canonical_key() -> None:
    variants = ["j.ane.doe+news@gmail.com", "JaneDoe@googlemail.com", "jane.doe@gmail.com"]
    canonicals = {normalize_email(v).canonical for v in variants}  # type: ignore[union-attr]
    assert canonicals == {"janedoe@gmail.com"}


def test_it_strips_plus_tags_but_keeps_dots_for_other_domains() -> None:
    email = normalize_email("jane.doe+stripe@acme.io")
    assert email is not None
    assert email.value == "jane.doe+stripe@acme.io"
    assert email.canonical == "jane.doe@acme.io"


@pytest.mark.parametrize("raw", ["Jane <jane@acme.io>", "mailto:jane@acme.io", "jane@acme.io."])
def test_it_unwraps_display_names_and_mailto(raw: str) -> None:
    assert normalize_email(raw).value == "jane@acme.io"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "raw", ["", "jane", "jane@", "@acme.io", "jane@acme", "ja ne@acme.io", "a@b@c.com", "j..d@x.io"]
)
def test_it_rejects_text_that_is_not_an_email(raw: str) -> None:
    assert normalize_email(raw) is None


@pytest.mark.parametrize(
    "raw", ["info@acme.io", "Sales@acme.io", "noreply@acme.io", "support@x.de"]
)
def test_it_flags_role_inboxes(raw: str) -> None:
    assert normalize_email(raw).is_role  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "raw", ["test@test.com", "a@a.com", "jane@example.com", "no-reply@acme.io", "x@y.test"]
)
def test_it_flags_placeholder_emails_as_junk(raw: str) -> None:
    assert normalize_email(raw).is_junk  # type: ignore[union-attr]


# --- phone --------------------------------------------------------------------------------------


@given(st.one_of(junk, phoneish), st.one_of(st.none(), st.sampled_from(["US", "gb", "XX", ""])))
def test_phone_normalization_never_raises_and_is_idempotent(raw: object, region: object) -> None:
    phone = normalize_phone(raw, default_region=region)  # type: ignore[arg-type]
    if phone is not None:
        assert normalize_phone(phone.raw, default_region=region) == phone  # type: ignore[arg-type]
        assert normalize_phone(phone) == phone
        assert phone.valid == (phone.e164 is not None)
        if phone.e164 is not None:
            assert normalize_phone(phone.e164).e164 == phone.e164  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(415) 555-0132", "US", "+14155550132"),
        ("415.555.0132 ext. 12", "US", "+14155550132"),
        ("+1 415-555-0132 x9", None, "+14155550132"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("030 12345678", "DE", "+493012345678"),
        ("+49 151 23456789", "US", "+4915123456789"),
        ("02 9374 4000 #21", "AU", "+61293744000"),
        ("0412 345 678", "AU", "+61412345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("tel:+91-98765-43210;ext=5", "US", "+919876543210"),
    ],
)
def test_it_normalizes_phone_formats_of_several_countries_and_drops_extensions(
    raw: str, region: str | None, e164: str
) -> None:
    phone = normalize_phone(raw, default_region=region)
    assert phone is not None and phone.e164 == e164 and phone.valid


def test_it_keeps_an_invalid_number_as_raw_text_without_e164() -> None:
    assert normalize_phone(" 123 ") == PhoneNorm(raw="123", e164=None, valid=False)


def test_a_national_number_without_its_country_is_not_guessed_into_another_one() -> None:
    phone = normalize_phone("07911 123456", default_region="US")
    assert phone is not None and phone.e164 is None


@pytest.mark.parametrize("raw", [None, "", "   ", "n/a", "call me", 3.5, ["+14155550132"]])
def test_it_returns_none_for_a_phone_without_digits(raw: object) -> None:
    assert normalize_phone(raw) is None


def test_it_accepts_a_phone_given_as_an_integer() -> None:
    assert normalize_phone(14155550132).e164 == "+14155550132"  # type: ignore[union-attr]


# --- names --------------------------------------------------------------------------------------


@given(
    st.one_of(junk, st.text(max_size=60)),
    st.one_of(junk, st.text(max_size=60)),
    st.one_of(junk, st.text(max_size=60)),
)
def test_name_normalization_never_raises_and_round_trips(first, last, full) -> None:
    name = normalize_name(first=first, last=last, full=full)
    assert normalize_name(first=name.display_first, last=name.display_last) == name
    assert normalize_name(name) == name


@given(st.text(max_size=80))
def test_a_full_name_normalizes_to_a_fixed_point(full: str) -> None:
    name = normalize_name(full=full)
    assert normalize_name(full=name.display) == name or " " in name.display_first


@given(st.text(max_size=80))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_it_folds_accents_and_keeps_the_display_case() -> None:
    name = normalize_name(first="José", last="García-Márquez")
    assert (name.first, name.last) == ("jose", "garcia marquez")
    assert name.display == "José García-Márquez"


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Smith, John", "john", "smith"),
        ("Dr. Jane Doe", "jane", "doe"),
        ("Mrs Jane Doe Jr.", "jane", "doe"),
        ("  jürgen   MÜLLER ", "jurgen", "muller"),
        ("Søren Weiß", "soren", "weiss"),
        ("Madonna", "madonna", ""),
        ("Anna van der Berg", "anna", "van der berg"),
    ],
)
def test_it_splits_full_names_and_strips_titles(full: str, first: str, last: str) -> None:
    name = normalize_name(full=full)
    assert (name.first, name.last) == (first, last)


def test_a_lone_first_field_with_several_words_is_read_as_a_full_name() -> None:
    name = normalize_name(first="Jane Doe")
    assert (name.first, name.last) == ("jane", "doe")


@pytest.mark.parametrize(
    ("nickname", "formal"),
    [
        ("Bob", "robert"), ("Rob", "robert"), ("Robbie", "robert"), ("Liz", "elizabeth"),
        ("Beth", "elizabeth"), ("Betsy", "elizabeth"), ("Bill", "william"), ("Will", "william"),
        ("Jim", "james"), ("Mike", "michael"), ("Kate", "katherine"), ("Katie", "katherine"),
        ("Robert", "robert"),
    ],
)  # fmt: skip
def test_it_keys_nicknames_to_the_formal_first_name(nickname: str, formal: str) -> None:
    assert normalize_name(first=nickname, last="Smith").first_key == formal


def test_an_email_typed_into_a_name_field_is_not_a_name() -> None:
    assert normalize_name(full="jane@acme.io").is_empty


def test_a_plus_tag_after_a_dot_leaves_a_valid_canonical_address() -> None:
    email = normalize_email("0.+@0.AA")
    assert email is not None
    assert email.canonical == "0@0.aa"
    assert normalize_email(email.canonical) is not None


def test_a_mobile_is_personal_and_a_landline_or_a_switchboard_is_not() -> None:
    assert normalize_phone("+44 7911 123456").personal
    assert normalize_phone("(415) 555-0132").personal  # North America: no telling, so personal
    assert not normalize_phone("020 7946 0958", default_region="GB").personal
    assert not normalize_phone("+1 415 555 0132 ext. 12").personal
    assert normalize_phone("+1 415 555 0132 ext. 12").e164 == "+14155550132"


@given(
    digits=st.text(alphabet="0123456789", min_size=4, max_size=15),
    plus=st.booleans(),
    cuts=st.lists(st.integers(min_value=1, max_value=14), max_size=4),
    separator=st.sampled_from([" ", "-", ".", "/", "(", ")"]),
    region=st.sampled_from(["US", "GB", "DE", "FR", "AU", "IN", "IT", "BR"]),
)
def test_a_number_with_separators_reads_as_phonenumbers_reads_the_whole_text(
    digits, plus, cuts, separator, region
) -> None:
    # Texts of digits and separators are parsed once per digit string (a cache); this holds
    # that shortcut to what parsing the text itself gives.
    text = ("+" if plus else "") + digits
    for cut in sorted(set(cuts), reverse=True):
        if cut < len(text):
            text = text[:cut] + separator + text[cut:]
    text = " ".join(text.split())
    phone = normalize_phone(text, default_region=region)
    whole = _parse_text(text, region)
    assert phone is not None
    assert phone.e164 == (whole[0] if whole else None)

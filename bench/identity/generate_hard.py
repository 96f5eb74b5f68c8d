"""A harder synthetic population than ``generate.py``, written without looking at the resolver.

    python bench/identity/generate_hard.py --records 50000 --seed 11 --out /tmp/identity-hard

Same output as ``generate.py`` (``input.jsonl``, ``truth.jsonl``). What makes it harder is what
real funnels of a large org look like:

- names drawn from skewed (Zipf-like) first- and last-name frequencies, so 20,000 people share a
  few thousand first+last pairs and a common name belongs to several people, who land in the same
  campaigns and weeks by chance (campaigns are few, sign-ups bunch around launches);
- records that carry a name and a phone only, or a name only;
- placeholder emails (test@test.com, none@none.com, "noemail@...") typed to get past a form;
- office lines shared by colleagues, some with an extension, some without;
- nicknames, typos, initials, swapped order, lost accents, shouting case;
- a second email (work and personal), sometimes a second mobile;
- phones of several countries written nationally, with the country often missing;
- provider ids (Close lead, Stripe customer) on the records of those providers, with the odd
  duplicate lead a CRM holds for one person.

Each person's records are generated from the person alone; nothing here reads a threshold,
a share limit or a rule of ``attribution.identity``.
"""

from __future__ import annotations

import argparse
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
from generate import (
    FIRST_NAMES,
    LAST_NAMES,
    NICKNAMES,
    _ascii,
    _format_phone,
    _slug,
    _typo,
    write_population,
)

# The generic generator's name lists plus more, so the skewed draw has a long tail.
EXTRA_FIRST = [
    "Ahmed", "Ali", "Anna", "Maria", "Laura", "Paul", "Mark", "Steven", "Peter", "Carlos",
    "Juan", "Luis", "Ana", "Sofia", "Isabella", "Mateo", "Leon", "Felix", "Paula", "Julia",
    "Nina", "Sara", "Tom", "Max", "Ben", "Jake", "Luke", "Grace", "Ella", "Ruby", "Ivy",
    "Zara", "Leah", "Nora", "Kai", "Ravi", "Sanjay", "Deepa", "Kiran", "Aarav", "Vikram",
    "Yusuf", "Layla", "Hassan", "Noor", "Jin", "Min", "Hana", "Kenji", "Takeshi", "Erik",
    "Lars", "Ingrid", "Astrid", "Pierre", "Louis", "Manon", "Chiara", "Marco", "Giulia",
]  # fmt: skip
EXTRA_LAST = [
    "Ali", "Khan", "Ahmed", "Hussain", "Silva", "Santos", "Costa", "Pereira", "Rossi", "Russo",
    "Ferrari", "Bianchi", "Romano", "Kim", "Park", "Choi", "Tran", "Le", "Pham", "Ivanov",
    "Petrov", "Novak", "Horvat", "Kovacs", "Nagy", "Olsen", "Berg", "Lund", "Meyer", "Weber",
    "Wolf", "Schulz", "Bauer", "Klein", "Lambert", "Fontaine", "Roux", "Blanc", "Chevalier",
    "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murray", "Rogers", "Morgan", "Cook",
]  # fmt: skip
NICKS = {**NICKNAMES, "Alexander": ["Alex", "Al", "Sandy"], "Samuel": ["Sam", "Sammy"],
         "Benjamin": ["Ben", "Benny", "Benji"], "Nicholas": ["Nick", "Nico"],
         "Daniel": ["Dan", "Danny", "Dani"], "Anthony": ["Tony", "Ant"]}  # fmt: skip
COUNTRIES = ["US"] * 40 + ["GB"] * 14 + ["CA"] * 8 + ["AU"] * 8 + ["DE"] * 8 + ["FR"] * 6
COUNTRIES += ["IN"] * 6 + ["ES"] * 4 + ["BR"] * 3 + ["NL"] * 3
FREE = ["gmail.com"] * 8 + ["yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com"]
PLACEHOLDERS = [
    "test@test.com", "none@none.com", "no@email.com", "noemail@gmail.com", "na@na.com",
    "asdf@asdf.com", "x@x.com", "placeholder@example.com", "nobody@nowhere.com", "n/a",
    "null@null.com", "fake@fake.com",
]  # fmt: skip
# Few campaigns, as a real org runs: namesakes overlap on them by chance.
CAMPAIGNS = [f"{kind}_{n}" for kind in ("webinar", "vsl", "challenge", "ig_ads") for n in (1, 2)]
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 90


def _zipf_weights(n: int, exponent: float) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


@dataclass
class Person:
    pid: int
    first: str
    last: str
    country: str
    mobiles: list[str]
    emails: list[str]  # the first is the one most used
    company: tuple[str, str, str] | None  # name, domain, office line
    campaign: str
    start: datetime
    close_leads: list[str] = field(default_factory=list)
    stripe_customer: str | None = None


class HardGenerator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        firsts = FIRST_NAMES + EXTRA_FIRST
        lasts = LAST_NAMES + EXTRA_LAST
        self.rng.shuffle(firsts)
        self.rng.shuffle(lasts)
        # 70 first names and 90 surnames, skewed: about 5,000 distinct pairs for 18,000 people,
        # nine in ten people share their name with someone, the commonest with dozens.
        self.firsts, self.lasts = firsts[:70], lasts[:90]
        self.first_w = _zipf_weights(len(self.firsts), 0.5)
        self.last_w = _zipf_weights(len(self.lasts), 0.5)
        self.used_mailboxes: set[str] = set()
        self.used_phones: set[str] = set()
        self.companies: list[tuple[str, str, str]] = []
        self.company_w: list[float] = []

    def _phone(self, country: str, *, mobile: bool) -> str:
        rng = self.rng
        kind = (
            phonenumbers.PhoneNumberType.MOBILE
            if mobile
            else phonenumbers.PhoneNumberType.FIXED_LINE
        )
        example = phonenumbers.example_number_for_type(country, kind)
        national = str(example.national_number)
        for _ in range(200):
            # Keep the example's leading digits (the numbering plan's range), randomise the rest.
            keep = min(3, len(national) - 4)
            digits = national[:keep] + "".join(
                rng.choice(string.digits) for _ in range(len(national) - keep)
            )
            number = phonenumbers.parse(f"+{example.country_code}{digits}")
            if phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if e164 not in self.used_phones:
                    self.used_phones.add(e164)
                    return e164
        raise RuntimeError(f"cannot make a {country} number")

    def _mailbox(self, local: str, domain: str) -> str:
        for n in range(1000):
            candidate = f"{local}{n if n else ''}"
            key = (
                (candidate.replace(".", "") if domain == "gmail.com" else candidate) + "@" + domain
            )
            if key not in self.used_mailboxes:
                self.used_mailboxes.add(key)
                return f"{candidate}@{domain}"
        raise RuntimeError("mailbox space exhausted")

    def _personal_email(self, first: str, last: str) -> str:
        rng = self.rng
        f, la = _slug(first) or "x", _slug(last) or "y"
        local = rng.choice(
            [f"{f}.{la}", f"{f}{la}", f"{f[0]}{la}", f"{f}{rng.randint(1, 99)}", f"{la}{f[0]}",
             f"{f}_{la}{rng.randint(1, 9)}", f"{f}.{la}{rng.randint(60, 99)}"]
        )  # fmt: skip
        return self._mailbox(local, rng.choice(FREE))

    def _company(self, country: str) -> tuple[str, str, str]:
        rng = self.rng
        # Company sizes are skewed too: most have one person in the funnel, a few have dozens.
        if self.companies and rng.random() < 0.5:
            return rng.choices(self.companies, weights=self.company_w)[0]
        name = f"{rng.choice(LAST_NAMES)} {rng.choice(['Group', 'Partners', 'Labs', 'Media'])}"
        domain = f"{_slug(name)}{len(self.companies)}.{rng.choice(['com', 'io', 'co.uk', 'de'])}"
        company = (name, domain, self._phone(country, mobile=False))
        self.companies.append(company)
        self.company_w.append(1.0 / len(self.companies) ** 0.3)
        return company

    def person(self, pid: int) -> Person:
        rng = self.rng
        country = rng.choice(COUNTRIES)
        first = rng.choices(self.firsts, weights=self.first_w)[0]
        last = rng.choices(self.lasts, weights=self.last_w)[0]
        company = self._company(country) if rng.random() < 0.35 else None
        emails = [self._personal_email(first, last)]
        if company and rng.random() < 0.6:
            work = self._mailbox(f"{_slug(first)}.{_slug(last)}", company[1])
            emails = [work, *emails] if rng.random() < 0.5 else [*emails, work]
        if rng.random() < 0.08:
            emails.append(self._personal_email(first, last))
        mobiles = [self._phone(country, mobile=True)] if rng.random() < 0.92 else []
        if mobiles and rng.random() < 0.05:
            mobiles.append(self._phone(country, mobile=True))
        # Launch weeks: a third of sign-ups bunch around four dates.
        if rng.random() < 0.35:
            start = START + timedelta(days=rng.choice([10, 32, 55, 80]), hours=rng.uniform(0, 72))
        else:
            start = START + timedelta(seconds=rng.randint(0, SPAN_DAYS * 86400))
        return Person(
            pid=pid,
            first=first,
            last=last,
            country=country,
            mobiles=mobiles,
            emails=emails,
            company=company,
            campaign=rng.choice(CAMPAIGNS),
            start=start,
        )

    def _name(self, person: Person) -> dict[str, str]:
        rng = self.rng
        first, last = person.first, person.last
        roll = rng.random()
        if roll < 0.04:
            return {}  # no name at all
        if person.first in NICKS and rng.random() < 0.2:
            first = rng.choice(NICKS[person.first])
        if rng.random() < 0.5:
            first, last = _ascii(first), _ascii(last)
        if rng.random() < 0.05:
            first = _typo(rng, first)
        if rng.random() < 0.05:
            last = _typo(rng, last)
        if rng.random() < 0.03:
            first = first[0] + "."
        if rng.random() < 0.05:
            first, last = first.upper(), last.upper()
        style = rng.random()
        if style < 0.03:
            return {"full_name": f"{last} {first}"}
        if style < 0.06:
            return {"full_name": f"{last}, {first}"}
        if style < 0.5:
            return {"full_name": f"{first} {last}"}
        if style < 0.53:
            return {"first_name": first}  # a first name only
        return {"first_name": first, "last_name": last}

    def _email(self, person: Person) -> str | None:
        rng = self.rng
        if rng.random() < 0.03:
            return rng.choice(PLACEHOLDERS)
        email = person.emails[0] if rng.random() < 0.7 else rng.choice(person.emails)
        local, domain = email.split("@")
        if domain == "gmail.com" and rng.random() < 0.15:
            local = local.replace(".", "") if "." in local else local[:2] + "." + local[2:]
        if rng.random() < 0.04:
            local += "+" + rng.choice(["fb", "promo", "2025"])
        email = f"{local}@{domain}"
        if rng.random() < 0.1:
            email = email.title() if rng.random() < 0.5 else email.upper()
        return email

    def _phone_text(self, person: Person, e164: str, with_country: bool) -> str:
        rng = self.rng
        number = phonenumbers.parse(e164)
        if not with_country and rng.random() < 0.6:
            # Typed nationally by someone whose country the source never asked for.
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return _format_phone(rng, e164, extension=False)

    def record(self, person: Person, source: str, at: datetime) -> dict[str, object]:
        rng = self.rng
        presence = {  # how often each source carries each field
            "typeform": (0.9, 0.8, 0.35, 0.9),  # email, phone, company, campaign
            "calendly": (0.97, 0.55, 0.15, 0.6),
            "close": (0.7, 0.9, 0.6, 0.25),
            "stripe": (0.98, 0.2, 0.05, 0.0),
            "whop": (0.8, 0.05, 0.0, 0.1),
        }[source]
        p_email, p_phone, p_company, p_campaign = presence
        record: dict[str, object] = {"source": source, "created_at": at.isoformat()}
        record.update(self._name(person))
        shape = rng.random()
        name_and_phone_only = shape < 0.08
        if not name_and_phone_only and rng.random() < p_email:
            email = self._email(person)
            if email is not None:
                record["email"] = email
        if name_and_phone_only or rng.random() < p_phone:
            office = person.company[2] if person.company else None
            if office and (not person.mobiles or rng.random() < 0.3):
                e164 = office
                text = self._phone_text(person, e164, with_country=True)
                if rng.random() < 0.4:
                    text += f" ext. {rng.randint(10, 99)}"
                record["phone"] = text
            elif person.mobiles:
                e164 = person.mobiles[0] if rng.random() < 0.8 else rng.choice(person.mobiles)
                with_country = rng.random() < 0.6
                record["phone"] = self._phone_text(person, e164, with_country)
                if with_country:
                    record["country"] = person.country
        if person.company and rng.random() < p_company:
            record["company"] = person.company[0]
        if rng.random() < p_campaign:
            record["utm_source"] = rng.choice(["facebook", "google", "instagram", "youtube"])
            record["utm_campaign"] = person.campaign
        if source == "close":
            if not person.close_leads or rng.random() < 0.03:  # a duplicate lead in the CRM
                person.close_leads.append(f"lead_{rng.getrandbits(48):012x}")
            record["provider_ids"] = {"close_lead": rng.choice(person.close_leads)}
        if source == "stripe":
            if person.stripe_customer is None:
                person.stripe_customer = f"cus_{rng.getrandbits(48):012x}"
            record["provider_ids"] = {"stripe_customer": person.stripe_customer}
        return record

    def journey(self, person: Person) -> list[tuple[str, datetime]]:
        rng = self.rng
        at = person.start
        steps = [(rng.choice(["typeform", "typeform", "calendly", "close"]), at)]
        for source, chance, hours in (
            ("calendly", 0.5, (0.2, 72)),
            ("close", 0.5, (0.1, 48)),
            ("calendly", 0.2, (24, 400)),
            ("typeform", 0.15, (24, 900)),
            ("stripe", 0.25, (1, 500)),
            ("whop", 0.08, (1, 500)),
            ("stripe", 0.1, (700, 800)),
        ):
            if rng.random() < chance:
                at += timedelta(hours=rng.uniform(*hours))
                steps.append((source, at))
        return steps


def generate(*, records: int, seed: int) -> tuple[list[dict[str, object]], dict[str, int]]:
    gen = HardGenerator(seed)
    rows: list[tuple[dict[str, object], int]] = []
    pid = 0
    while len(rows) < records:
        person = gen.person(pid)
        pid += 1
        for source, at in gen.journey(person):
            rows.append((gen.record(person, source, at), person.pid))
    rows = rows[:records]
    gen.rng.shuffle(rows)
    out: list[dict[str, object]] = []
    truth: dict[str, int] = {}
    for n, (row, person_id) in enumerate(rows):
        record_id = f"h{n:06d}"
        out.append({"record_id": record_id, **row})
        truth[record_id] = person_id
    return out, truth


def write(out_dir: Path, *, records: int, seed: int) -> tuple[Path, Path]:
    rows, truth = generate(records=records, seed=seed)
    return write_population(out_dir, rows, truth)


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("var/bench/identity-hard"))
    args = parser.parse_args()
    input_path, truth_path = write(args.out, records=args.records, seed=args.seed)
    print(f"wrote {input_path} and {truth_path}")


if __name__ == "__main__":
    _main()

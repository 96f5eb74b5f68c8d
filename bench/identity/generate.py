"""Seeded synthetic people seen through typeform, calendly, close, stripe and whop, with noise.

    python bench/identity/generate.py --records 20000 --seed 7 --out /tmp/identity-bench

Writes ``input.jsonl`` (what the resolver sees) and ``truth.jsonl`` (record_id -> person_id).
The noise is what real funnels produce: email case and spaces, gmail dots and +tags, a second
address, phone formats of several countries with extensions, country missing, typos, nicknames,
swapped names, dropped accents, missing fields, role and placeholder emails, shared office phones,
couples sharing a home phone, and namesakes who are different people.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers

FIRST_NAMES = [
    "Robert", "Elizabeth", "William", "James", "Michael", "Katherine", "John", "Mary",
    "Patricia", "Jennifer", "Linda", "David", "Richard", "Joseph", "Thomas", "Charles",
    "Christopher", "Daniel", "Matthew", "Anthony", "Margaret", "Susan", "Jessica", "Sarah",
    "Karen", "Nancy", "Lisa", "Betty", "Sandra", "Ashley", "Kimberly", "Emily", "Donna",
    "Michelle", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Edward", "Ronald",
    "Timothy", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Stephen",
    "Jonathan", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory",
    "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron",
    "Henry", "Adam", "Nathan", "Zachary", "Rebecca", "Deborah", "Amanda", "Pamela", "Victoria",
    "Olivia", "Sophie", "Chloé", "Zoë", "Renée", "José", "François", "Jürgen", "Søren",
    "Łukasz", "Björn", "Mónica", "Inés", "Raúl", "Ángel", "Priya", "Rahul", "Ananya", "Arjun",
    "Wei", "Mei", "Hiroshi", "Yuki", "Oliver", "Harry", "Amelia", "Isla", "Lachlan", "Matilda",
    "Klaus", "Anke", "Lukas", "Hannah", "Maximilian", "Léa", "Camille", "Noah", "Liam", "Emma",
    "Ava", "Mia", "Lucas", "Ethan", "Chen", "Fatima", "Omar", "Aisha", "Mohammed", "Sven",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gómez", "Núñez", "Müller",
    "Schröder", "Weiß", "Schmidt", "Schneider", "Fischer", "Becker", "Hoffmann", "Koch",
    "Richter", "Wagner", "Dubois", "Lefèvre", "Moreau", "Girard", "Bonnet", "O'Brien",
    "O'Connor", "McDonald", "MacLeod", "Murphy", "Kelly", "Byrne", "Ryan", "Walsh", "Patel",
    "Sharma", "Singh", "Kumar", "Gupta", "Wang", "Li", "Zhang", "Liu", "Chen", "Yamamoto",
    "Tanaka", "Suzuki", "Kowalski", "Nowak", "Wiśniewski", "Jensen", "Nielsen", "Hansen",
    "Andersson", "Johansson", "Larsson", "Van der Berg", "De Vries", "Jansen", "Bakker",
    "García Márquez", "Fernández", "Álvarez", "Romero", "Navarro", "Cooper", "Reed", "Bailey",
    "Bell", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett",
    "Gray", "James", "Hughes", "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "Powell",
    "Jenkins", "Perry", "Russell", "Sullivan", "Fisher", "Henderson", "Coleman", "Simmons",
    "Patterson", "Jordan", "Reynolds", "Hamilton", "Graham", "Wallace", "Woods", "Cole",
    "West", "Owens", "Marshall", "Harrison", "Gibson", "Ellis", "Stevens", "Tucker", "Porter",
    "Hunter", "Hicks", "Crawford", "Henry", "Boyd", "Mason", "Kennedy", "Warren", "Dixon",
    "Burns", "Gordon", "Shaw", "Holmes", "Rice", "Hunt", "Black", "Daniels", "Palmer", "Mills",
    "Grant", "Knight", "Ferguson", "Stone", "Hawkins", "Dunn", "Perkins", "Hudson", "Spencer",
]  # fmt: skip
# The nicknames people really type; some are in the resolver's table, some are not.
NICKNAMES = {
    "Robert": ["Bob", "Rob", "Robbie", "Bobby"], "Elizabeth": ["Liz", "Beth", "Betsy", "Lizzie"],
    "William": ["Bill", "Will", "Billy"], "James": ["Jim", "Jimmy", "Jamie"],
    "Michael": ["Mike", "Mikey"], "Katherine": ["Kate", "Katie", "Kathy"],
    "Patricia": ["Pat", "Patty", "Trish"], "Jennifer": ["Jen", "Jenny"],
    "Richard": ["Rick", "Rich", "Dick"], "Joseph": ["Joe", "Joey"], "Thomas": ["Tom", "Tommy"],
    "Charles": ["Charlie", "Chuck"], "Christopher": ["Chris", "Topher"],
    "Daniel": ["Dan", "Danny"], "Matthew": ["Matt"], "Anthony": ["Tony"],
    "Margaret": ["Maggie", "Peggy", "Meg", "Greta"], "Susan": ["Sue", "Suzy"],
    "Jessica": ["Jess"], "Andrew": ["Andy", "Drew"], "Joshua": ["Josh"], "Kenneth": ["Ken"],
    "Edward": ["Ed", "Eddie", "Ted"], "Timothy": ["Tim"], "Jeffrey": ["Jeff"],
    "Nicholas": ["Nick"], "Stephen": ["Steve"], "Jonathan": ["Jon"], "Benjamin": ["Ben"],
    "Samuel": ["Sam"], "Gregory": ["Greg"], "Alexander": ["Alex", "Sasha", "Xander"],
    "Zachary": ["Zach"], "Rebecca": ["Becky"], "Deborah": ["Debbie"], "Victoria": ["Vicky"],
    "Maximilian": ["Max"],
}  # fmt: skip
COMPANY_WORDS = [
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Hooli", "Vandelay",
    "Soylent", "Cyberdyne", "Tyrell", "Nakatomi", "Oscorp", "Aperture", "Gringotts", "Pied",
    "Piper", "Massive", "Dynamic", "Blue", "Red", "North", "Summit", "Peak", "Bright", "Nova",
    "Apex", "Vertex", "Orbit", "Pixel", "Quantum", "Harbor", "Cedar", "Maple", "Granite",
]  # fmt: skip
COMPANY_TAILS = [
    "Labs",
    "Media",
    "Consulting",
    "Capital",
    "Digital",
    "Fitness",
    "Realty",
    "Coaching",
]
COMPANY_SUFFIXES = ["", " Inc", " LLC", " Ltd", " GmbH", " Pty Ltd", ", Inc."]
FREE_DOMAINS = ["gmail.com"] * 6 + ["yahoo.com", "outlook.com", "hotmail.com", "icloud.com"]
FREE_BY_COUNTRY = {"GB": ["btinternet.com", "yahoo.co.uk"], "DE": ["gmx.de", "web.de"],
                   "AU": ["bigpond.com"], "FR": ["orange.fr", "free.fr"]}  # fmt: skip
CAMPAIGNS = [f"{kind}_{month}" for kind in ("webinar", "vsl", "lead_magnet", "retargeting",
             "cold_ig", "yt_organic") for month in ("jan", "feb", "mar", "apr")]  # fmt: skip
UTM_SOURCES = ["facebook", "google", "youtube", "instagram", "tiktok", "newsletter"]
COUNTRIES = (
    ["US"] * 45 + ["GB"] * 15 + ["DE"] * 10 + ["AU"] * 10 + ["CA"] * 7 + ["FR"] * 7 + ["IN"] * 6
)
JUNK_EMAILS = ["test@test.com", "a@a.com", "none@none.com", "asdf@asdf.com", "no@email.com"]
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 120


@dataclass
class Person:
    pid: int
    first: str
    last: str
    country: str
    phone: str  # E.164
    email: str
    second_email: str | None
    company: str | None
    company_domain: str | None
    office_phone: str | None
    campaign: str
    utm_source: str
    start: datetime
    role_email: str | None = None
    records: list[dict] = field(default_factory=list)


def _mobile(rng: random.Random, country: str) -> str:
    patterns = {
        "US": lambda: f"+1{rng.choice(['212', '415', '312', '646', '305', '512', '617', '206', '303', '404', '702', '213'])}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        "CA": lambda: f"+1{rng.choice(['416', '604', '514', '403', '613'])}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        "GB": lambda: f"+447{rng.choice('45789')}{rng.randint(0, 99999999):08d}",
        "DE": lambda: f"+49{rng.choice(['151', '152', '160', '170', '171', '172', '176'])}{rng.randint(0, 99999999):08d}",
        "AU": lambda: f"+614{rng.randint(0, 99999999):08d}",
        "FR": lambda: f"+33{rng.choice('67')}{rng.randint(0, 99999999):08d}",
        "IN": lambda: f"+91{rng.choice('6789')}{rng.randint(0, 999999999):09d}",
    }  # fmt: skip
    for _ in range(50):
        number = patterns[country]()
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number
    raise RuntimeError(f"cannot make a valid {country} number")


def _landline(rng: random.Random, country: str) -> str:
    patterns = {
        "US": lambda: f"+1{rng.choice(['212', '415', '312', '617'])}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        "CA": lambda: f"+1416{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        "GB": lambda: f"+4420{rng.choice('378')}{rng.randint(0, 9999999):07d}",
        "DE": lambda: f"+4930{rng.randint(1000000, 99999999)}",
        "AU": lambda: f"+612{rng.choice('89')}{rng.randint(0, 9999999):07d}",
        "FR": lambda: f"+331{rng.randint(0, 99999999):08d}",
        "IN": lambda: f"+9111{rng.randint(20000000, 99999999)}",
    }  # fmt: skip
    for _ in range(50):
        number = patterns[country]()
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number
    raise RuntimeError(f"cannot make a valid {country} landline")


def _format_phone(rng: random.Random, e164: str, *, extension: bool) -> str:
    number = phonenumbers.parse(e164)
    style = rng.random()
    if style < 0.3:
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    elif style < 0.55:
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    elif style < 0.7:
        text = e164
    elif style < 0.8:
        text = "00" + e164[1:]
    elif style < 0.9:
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        text = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    else:
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)
        text = text.removeprefix("tel:")
    if extension:
        text += rng.choice([" ext. ", " x", " ext", " #", ";ext="]) + str(rng.randint(10, 999))
    if rng.random() < 0.1:
        text = f"  {text} "
    return text


def _ascii(text: str) -> str:
    import unicodedata

    table = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L"})
    decomposed = unicodedata.normalize("NFKD", text.translate(table))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _slug(text: str) -> str:
    return "".join(ch for ch in _ascii(text).lower() if ch.isalnum())


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randint(1, len(text) - 2)
    kind = rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind < 0.7:
        return text[:i] + text[i + 1 :]
    return text[:i] + rng.choice("aeioulnrst") + text[i + 1 :]


def _personal_email(rng: random.Random, first: str, last: str, country: str, n: int) -> str:
    f, la = _slug(first), _slug(last)
    domains = FREE_DOMAINS + FREE_BY_COUNTRY.get(country, [])
    local = rng.choice(
        [f"{f}.{la}", f"{f}{la}", f"{f[0]}{la}", f"{f}{la}{rng.randint(1, 99)}", f"{f}_{la}",
         f"{la}.{f}", f"{f}{rng.randint(70, 99)}"]
    )  # fmt: skip
    return f"{local}{n if n else ''}@{rng.choice(domains)}"


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used_emails: set[str] = set()
        self.companies: list[tuple[str, str, str, str]] = []  # name, domain, office phone, country

    def _unique_email(self, make) -> str:
        for n in range(100):
            email = make(n)
            # Unique per mailbox, as gmail itself enforces: j.smith and jsmith are one inbox.
            local, domain = email.split("@")
            mailbox = (local.replace(".", "") if domain == "gmail.com" else local) + "@" + domain
            if mailbox not in self.used_emails:
                self.used_emails.add(mailbox)
                return email
        raise RuntimeError("email space exhausted")

    def _company(self, country: str) -> tuple[str, str, str, str]:
        rng = self.rng
        # A few companies have many people in the funnel (their office phone is then shared).
        if self.companies and rng.random() < 0.35:
            return rng.choice(self.companies[-40:])
        word = rng.choice(COMPANY_WORDS) + " " + rng.choice(COMPANY_TAILS)
        name = word + rng.choice(COMPANY_SUFFIXES)
        domain = _slug(word) + str(len(self.companies)) + rng.choice([".com", ".io", ".co"])
        company = (name, domain, _landline(rng, country), country)
        self.companies.append(company)
        return company

    def person(self, pid: int, namesake_of: Person | None) -> Person:
        rng = self.rng
        country = rng.choice(COUNTRIES)
        if namesake_of is not None:
            first, last = namesake_of.first, namesake_of.last
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = domain = office = None
        if rng.random() < 0.45:
            company, domain, office, country = self._company(country)
        if domain and rng.random() < 0.4:
            email = self._unique_email(
                lambda n: f"{_slug(first)}{n if n else ''}.{_slug(last)}@{domain}"
            )
        else:
            email = self._unique_email(lambda n: _personal_email(rng, first, last, country, n))
        second = None
        if rng.random() < 0.1:
            second = self._unique_email(lambda n: _personal_email(rng, first, last, country, n + 1))
        return Person(
            pid=pid,
            first=first,
            last=last,
            country=country,
            phone=_mobile(rng, country),
            email=email,
            second_email=second,
            company=company,
            company_domain=domain,
            office_phone=office,
            campaign=rng.choice(CAMPAIGNS),
            utm_source=rng.choice(UTM_SOURCES),
            start=START + timedelta(seconds=rng.randint(0, SPAN_DAYS * 86400)),
            role_email=f"{rng.choice(['info', 'sales', 'hello', 'office'])}@{domain}"
            if domain
            else None,
        )

    def _email_variant(self, person: Person, source: str) -> str | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.02:
            return rng.choice(JUNK_EMAILS)
        if roll < 0.04 and person.role_email:
            return person.role_email
        email = person.email
        if person.second_email and (source in ("stripe", "whop") or rng.random() < 0.25):
            email = person.second_email
        local, domain = email.split("@")
        if domain == "gmail.com" and rng.random() < 0.25:
            plain = local.replace(".", "")
            cut = rng.randint(1, max(1, len(plain) - 1))
            local = plain[:cut] + "." + plain[cut:] if rng.random() < 0.6 else plain
        if rng.random() < 0.06:
            local += "+" + rng.choice(["news", "calendly", "stripe", "vip", "1"])
        if domain == "gmail.com" and rng.random() < 0.05:
            domain = "googlemail.com"
        email = f"{local}@{domain}"
        if rng.random() < 0.15:
            email = email.capitalize() if rng.random() < 0.5 else email.upper()
        if rng.random() < 0.08:
            email = f" {email}  "
        return email

    def _name_fields(self, person: Person, source: str) -> dict[str, str | None]:
        rng = self.rng
        first, last = person.first, person.last
        if first in NICKNAMES and rng.random() < 0.2:
            first = rng.choice(NICKNAMES[first])
        if rng.random() < 0.5:
            first, last = _ascii(first), _ascii(last)
        if rng.random() < 0.06:
            first = _typo(rng, first)
        if rng.random() < 0.06:
            last = _typo(rng, last)
        case = rng.random()
        if case < 0.08:
            first, last = first.lower(), last.lower()
        elif case < 0.12:
            first, last = first.upper(), last.upper()
        if source == "whop" and rng.random() < 0.3:
            return {"full_name": f"{_slug(first)}{rng.randint(1, 999)}"}  # a username
        swapped = rng.random() < 0.04
        style = rng.random()
        if source in ("stripe", "calendly") or style < 0.35:
            if rng.random() < 0.05:
                return {"full_name": f"{last}, {first}"}
            if swapped:
                return {"full_name": f"{last} {first}"}
            title = rng.choice(["Dr. ", "Mr ", "Mrs. ", "Ms "]) if rng.random() < 0.03 else ""
            return {"full_name": f"{title}{first} {last}"}
        if swapped:
            first, last = last, first
        return {"first_name": first, "last_name": last}

    def record(self, person: Person, source: str, at: datetime) -> dict[str, object]:
        rng = self.rng
        keep = {  # probability each field is present, per source
            "typeform": {"email": 0.95, "phone": 0.75, "company": 0.3, "utm": 0.85, "country": 0.5},
            "calendly": {"email": 1.0, "phone": 0.5, "company": 0.1, "utm": 0.6, "country": 0.2},
            "close": {"email": 0.85, "phone": 0.85, "company": 0.6, "utm": 0.2, "country": 0.8},
            "stripe": {"email": 1.0, "phone": 0.25, "company": 0.05, "utm": 0.0, "country": 0.9},
            "whop": {"email": 0.7, "phone": 0.0, "company": 0.0, "utm": 0.1, "country": 0.3},
        }[source]  # fmt: skip
        record: dict[str, object] = {"source": source, "created_at": at.isoformat()}
        record.update(self._name_fields(person, source))
        if rng.random() < keep["email"]:
            record["email"] = self._email_variant(person, source)
        if rng.random() < keep["phone"]:
            use_office = person.office_phone is not None and rng.random() < 0.3
            e164 = person.office_phone if use_office else person.phone
            record["phone"] = _format_phone(
                rng, e164, extension=(use_office and rng.random() < 0.5) or rng.random() < 0.03
            )
        if person.company and rng.random() < keep["company"]:
            record["company"] = person.company
        if rng.random() < keep["country"]:
            record["country"] = person.country
        if rng.random() < keep["utm"]:
            record["utm_source"] = person.utm_source
            record["utm_campaign"] = person.campaign
        # Sources send explicit nulls as often as they omit a key.
        for key in ("company", "country", "phone"):
            if key not in record and rng.random() < 0.3:
                record[key] = None
        return record

    def journey(self, person: Person) -> list[tuple[str, datetime]]:
        rng = self.rng
        at = person.start
        steps: list[tuple[str, datetime]] = [(rng.choice(["typeform"] * 4 + ["calendly"]), at)]
        if rng.random() < 0.55:
            at += timedelta(hours=rng.uniform(0.1, 48))
            steps.append(("calendly", at))
        if rng.random() < 0.6:
            at += timedelta(hours=rng.uniform(0.1, 24))
            steps.append(("close", at))
        if rng.random() < 0.2:
            at += timedelta(days=rng.uniform(1, 10))
            steps.append(("calendly", at))
        if rng.random() < 0.3:
            at += timedelta(days=rng.uniform(0, 14))
            steps.append((rng.choice(["stripe", "stripe", "whop"]), at))
            if rng.random() < 0.3:
                at += timedelta(days=30)
                steps.append((steps[-1][0], at))
        return steps


def generate(*, records: int, seed: int) -> tuple[list[dict[str, object]], dict[str, int]]:
    gen = Generator(seed)
    rng = gen.rng
    rows: list[tuple[dict[str, object], int]] = []
    people: list[Person] = []
    while len(rows) < records:
        namesake_of = rng.choice(people) if people and rng.random() < 0.04 else None
        person = gen.person(len(people), namesake_of)
        # Couples: a second person at the same home phone, same surname.
        if people and rng.random() < 0.02:
            partner = people[-1]
            person.phone, person.last, person.country = partner.phone, partner.last, partner.country
        people.append(person)
        for source, at in gen.journey(person):
            rows.append((gen.record(person, source, at), person.pid))
    rows = rows[:records]
    rng.shuffle(rows)
    truth: dict[str, int] = {}
    out: list[dict[str, object]] = []
    for n, (row, pid) in enumerate(rows):
        record_id = f"r{n:06d}"
        out.append({"record_id": record_id, **row})
        truth[record_id] = pid
    return out, truth


def write(out_dir: Path, *, records: int, seed: int) -> tuple[Path, Path]:
    rows, truth = generate(records=records, seed=seed)
    return write_population(out_dir, rows, truth)


def write_population(
    out_dir: Path, rows: list[dict[str, object]], truth: dict[str, int]
) -> tuple[Path, Path]:
    """input.jsonl (the records) and truth.jsonl (record -> person), as run.py reads them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    input_path, truth_path = out_dir / "input.jsonl", out_dir / "truth.jsonl"
    with input_path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    with truth_path.open("w", encoding="utf-8") as handle:
        for record_id, pid in truth.items():
            handle.write(json.dumps({"record_id": record_id, "person_id": pid}) + "\n")
    return input_path, truth_path


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("var/bench/identity"))
    args = parser.parse_args()
    input_path, truth_path = write(args.out, records=args.records, seed=args.seed)
    print(f"wrote {input_path} and {truth_path}")


if __name__ == "__main__":
    _main()

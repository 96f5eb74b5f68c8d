"""A local fake of the Calendly, Typeform and Close list APIs for the sync benchmark.

    python bench/sync/fake_server.py --calendly 50000 --close 20000 --typeform 50000 [--rate-scale 1]

Serves /calendly/..., /typeform/... and /close/... the way INTEGRATIONS.md describes them (page
sizes, page tokens, ``after`` tokens, ``_skip``/``_limit`` with a refused deep ``_skip``) and
enforces each provider's documented rate limit with a sliding window, answering 429 with that
provider's own hint (Calendly ``X-RateLimit-Reset``, Close ``error.rate_reset``, Typeform
``Retry-After``). ``--rate-scale`` multiplies every limit, compressing time so a full-size run
fits in minutes; the benchmark scales its clients' pacing by the same factor.

Records are generated from their index on each request, so the server holds no history. It
prints ``listening on PORT`` once ready, and its counters as JSON on GET /_stats.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BASE = datetime(2024, 1, 1, tzinfo=UTC)
CALENDLY_API = "https://api.calendly.com"
ORG_URI = f"{CALENDLY_API}/organizations/BENCHORG"
HOSTS = [(f"{CALENDLY_API}/users/HOST{i}", f"host{i}@bench-team.test") for i in range(6)]
CLOSE_USERS = [(f"user_{i}", f"host{i}@bench-team.test") for i in range(6)]
FORM_ID = "BENCHFORM"
CLOSE_MAX_SKIP = 10_000  # deeper than this is a 400, as Close refuses deep _skip

# (requests, window seconds) at the documented limits.
LIMITS = {
    "calendly": (500, 60.0),  # 500/min per user on paid plans
    "typeform": (2, 1.0),  # 2/s per account (third-party figure)
    "close": (20, 1.0),  # Close's own example key limit
}


class Window:
    """Sliding-log rate limiter: at most ``limit`` requests in any ``window`` seconds."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def admit(self) -> float | None:
        """None when admitted, else the seconds until a slot frees."""
        with self.lock:
            now = time.monotonic()
            while self.sent and now - self.sent[0] >= self.window:
                self.sent.popleft()
            if len(self.sent) < self.limit:
                self.sent.append(now)
                return None
            return self.window - (now - self.sent[0])


def iso(moment: datetime, *, z: bool = True) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text + "Z" if z else text + "+00:00"


FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie"]  # fmt: skip
SYLLABLES = [
    "bar",
    "ken",
    "dol",
    "mir",
    "sto",
    "vant",
    "rel",
    "pik",
    "gor",
    "hum",
    "lan",
    "tes",
    "wod",
    "fra",
    "zel",
    "qui",
    "nor",
    "bex",
    "cal",
    "dun",
    "yor",
    "mav",
    "tig",
    "pol",
]


def person(i: int) -> dict:
    # Varied names, as a real lead list has: one shared surname would put every lead in one
    # name block of the identity matcher and measure that instead of the sync.
    n = i // len(FIRST)
    last = "".join(SYLLABLES[(n // 24**k) % 24] for k in range(3)).capitalize()
    return {
        "email": f"{FIRST[i % len(FIRST)].lower()}.{last.lower()}{i}@gmail.com",
        "first_name": FIRST[i % len(FIRST)],
        "last_name": last,
        "phone": f"+1415{5500000 + i:07d}"[:12],
    }


class Data:
    def __init__(self, calendly: int, typeform: int, close: int):
        self.calendly, self.typeform, self.close = calendly, typeform, close

    # Calendly: one invitee per event (1:1 sales calls), one event every 10 minutes.
    def event(self, i: int) -> dict:
        start = BASE + timedelta(minutes=10 * i)
        host = HOSTS[i % len(HOSTS)]
        return {
            "uri": f"{CALENDLY_API}/scheduled_events/EV{i:07d}",
            "name": "Triage Call" if i % 2 else "Solution Call",
            "status": "canceled" if i % 17 == 0 else "active",
            "start_time": iso(start),
            "end_time": iso(start + timedelta(minutes=45)),
            "event_type": f"{CALENDLY_API}/event_types/ET{i % 2}",
            "location": {"type": "zoom"},
            "created_at": iso(start - timedelta(days=2)),
            "updated_at": iso(start - timedelta(days=2)),
            "event_memberships": [{"user": host[0], "user_email": host[1]}],
        }

    def invitee(self, i: int) -> dict:
        p = person(i)
        created = BASE + timedelta(minutes=10 * i) - timedelta(days=2)
        canceled = i % 17 == 0
        return {
            "uri": f"{CALENDLY_API}/scheduled_events/EV{i:07d}/invitees/IN{i:07d}",
            "event": f"{CALENDLY_API}/scheduled_events/EV{i:07d}",
            "email": p["email"],
            "name": f"{p['first_name']} {p['last_name']}",
            "first_name": p["first_name"],
            "last_name": p["last_name"],
            "status": "canceled" if canceled else "active",
            "timezone": "America/New_York",
            "rescheduled": False,
            "old_invitee": None,
            "new_invitee": None,
            "created_at": iso(created),
            "updated_at": iso(created + timedelta(hours=1) if canceled else created),
            "questions_and_answers": [
                {"question": "Phone number", "answer": p["phone"], "position": 0}
            ],
            "tracking": {"utm_source": ["youtube", "facebook", "google"][i % 3], "utm_medium": "paid",
                         "utm_campaign": f"c{i % 11}", "utm_content": None, "utm_term": None,
                         "salesforce_uuid": None},
            "cancellation": {"canceled_by": p["first_name"], "reason": "conflict",
                             "canceler_type": "invitee"} if canceled else None,
            "no_show": None,
        }  # fmt: skip

    # Typeform: one response every 10 minutes, a little before the booking.
    def response(self, i: int) -> dict:
        p = person(i)
        submitted = BASE + timedelta(minutes=10 * i) - timedelta(days=3)
        return {
            "landing_id": f"tf{i:07d}",
            "token": f"tf{i:07d}",
            "response_id": f"tf{i:07d}",
            "landed_at": iso(submitted - timedelta(minutes=3)),
            "submitted_at": iso(submitted),
            "metadata": {"platform": "other"},
            "hidden": {"utm_source": ["youtube", "facebook", "google"][i % 3], "utm_medium": "paid",
                       "utm_campaign": f"c{i % 11}"},
            "calculated": {"score": 0},
            "answers": [
                {"type": "text", "text": p["first_name"], "field": {"id": "f1", "type": "short_text", "ref": "first_name"}},
                {"type": "text", "text": p["last_name"], "field": {"id": "f2", "type": "short_text", "ref": "last_name"}},
                {"type": "email", "email": p["email"], "field": {"id": "f3", "type": "email", "ref": "email"}},
                {"type": "phone_number", "phone_number": p["phone"], "field": {"id": "f4", "type": "phone_number", "ref": "phone"}},
            ],
        }  # fmt: skip

    def form(self) -> dict:
        return {
            "id": FORM_ID,
            "title": "Apply",
            "fields": [
                {"id": "f1", "ref": "first_name", "type": "short_text", "title": "First name"},
                {"id": "f2", "ref": "last_name", "type": "short_text", "title": "Last name"},
                {"id": "f3", "ref": "email", "type": "email", "title": "Email"},
                {"id": "f4", "ref": "phone", "type": "phone_number", "title": "Phone"},
            ],
        }

    # Close: a lead per person, each with one opportunity.
    def lead(self, i: int) -> dict:
        p = person(i)
        created = BASE + timedelta(minutes=10 * i) - timedelta(days=1)
        return {
            "id": f"lead_{i:07d}",
            "display_name": f"{p['first_name']} {p['last_name']}",
            "status_label": "Qualified",
            "date_created": iso(created, z=False),
            "date_updated": iso(created, z=False),
            "contacts": [{
                "id": f"cont_{i:07d}", "lead_id": f"lead_{i:07d}",
                "name": f"{p['first_name']} {p['last_name']}",
                "emails": [{"email": p["email"], "type": "office"}],
                "phones": [{"phone": p["phone"], "type": "mobile"}],
            }],
        }  # fmt: skip

    def opportunity(self, i: int) -> dict:
        created = BASE + timedelta(minutes=10 * i)
        won = i % 4 == 0
        return {
            "id": f"oppo_{i:07d}",
            "lead_id": f"lead_{i:07d}",
            "contact_id": f"cont_{i:07d}",
            "status_type": "won" if won else "active",
            "status_label": "Won" if won else "Active",
            "value": 500000,
            "value_currency": "USD",
            "value_period": "one_time",
            "confidence": 100 if won else 50,
            "date_won": (created.date().isoformat() if won else None),
            "user_id": CLOSE_USERS[i % len(CLOSE_USERS)][0],
            "date_created": iso(created, z=False),
            "date_updated": iso(created, z=False),
        }


def availability_schedule(user: str) -> dict:
    """A host's default schedule: weekdays 09:00-12:00 and 13:00-17:00, weekends off."""
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    working = [{"from": "09:00", "to": "12:00"}, {"from": "13:00", "to": "17:00"}]
    return {
        "uri": f"{CALENDLY_API}/user_availability_schedule/{user.rsplit('/', 1)[-1]}",
        "default": True,
        "name": "Working Hours",
        "user": user,
        "timezone": "America/New_York",
        "rules": [
            {"type": "wday", "wday": day, "intervals": working if i < 5 else []}
            for i, day in enumerate(days)
        ],
    }


def make_handler(data: Data, scale: float):
    windows = {name: Window(limit, window / scale) for name, (limit, window) in LIMITS.items()}
    stats: Counter = Counter()
    stats_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK add 40 ms to every keep-alive response.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: object, headers: dict | None = None):
            raw = json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            parts = url.path.strip("/").split("/")
            provider = parts[0]
            if provider == "_stats":
                with stats_lock:
                    return self._send(200, dict(stats))
            window = windows.get(provider)
            if window is None:
                return self._send(404, {"error": "unknown"})
            wait = window.admit()
            with stats_lock:
                stats[f"{provider}.requests"] += 1
                if wait is not None:
                    stats[f"{provider}.429"] += 1
            if wait is not None:
                return self._rate_limited(provider, wait)
            try:
                getattr(self, f"_{provider}")(parts[1:], q)
            except (ValueError, KeyError) as exc:
                self._send(400, {"error": str(exc)})

        def _rate_limited(self, provider, wait):
            seconds = max(wait, 0.001)
            if provider == "calendly":
                limit = LIMITS["calendly"][0]
                headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                           "X-RateLimit-Reset": f"{seconds:.3f}"}  # fmt: skip
                return self._send(429, {"title": "Too Many Requests"}, headers)
            if provider == "close":
                return self._send(429, {"error": {"rate_reset": round(seconds, 3),
                                                  "message": "API call count exceeded"}})  # fmt: skip
            return self._send(429, {"code": "TOO_MANY_REQUESTS"}, {"Retry-After": f"{seconds:.3f}"})

        # --- Calendly ---------------------------------------------------------------------

        def _calendly(self, parts, q):
            count = int(q.get("count", 20))
            if not 1 <= count <= 100:
                raise ValueError("count must be 1..100")
            start = int(q.get("page_token") or 0)
            if parts == ["users", "me"]:
                return self._send(200, {"resource": {"uri": f"{CALENDLY_API}/users/ME",
                                                     "current_organization": ORG_URI}})  # fmt: skip
            if parts == ["organization_memberships"]:
                items = [
                    {"user": {"uri": u, "email": e, "name": e.split("@")[0]}} for u, e in HOSTS
                ]
                return self._page(items[start : start + count], start, count, len(items))
            if parts == ["scheduled_events"]:
                total = data.calendly
                first = 0
                if q.get("min_start_time"):
                    moment = datetime.fromisoformat(q["min_start_time"].replace("Z", "+00:00"))
                    first = max(0, -(-int((moment - BASE).total_seconds()) // 600))
                lo = first + start
                hi = min(total, lo + count)
                items = [data.event(i) for i in range(lo, hi)]
                return self._page(items, start, count, total - first)
            if parts == ["user_availability_schedules"]:
                # Calendly's shape: weekday rules of wall-clock intervals, plus date overrides.
                return self._send(200, {"collection": [availability_schedule(q["user"])]})
            if len(parts) == 3 and parts[0] == "scheduled_events" and parts[2] == "invitees":
                i = int(parts[1].removeprefix("EV"))
                return self._page([data.invitee(i)] if i < data.calendly else [], 0, count, 1)
            raise ValueError("no such path")

        def _page(self, items, start, count, total):
            more = start + count < total
            body = {"collection": items,
                    "pagination": {"count": len(items),
                                   "next_page_token": str(start + count) if more else None}}  # fmt: skip
            self._send(200, body)

        # --- Typeform ---------------------------------------------------------------------

        def _typeform(self, parts, q):
            if parts == ["forms"]:
                return self._send(200, {"total_items": 1, "page_count": 1,
                                        "items": [{"id": FORM_ID, "title": "Apply"}]})  # fmt: skip
            if parts == ["forms", FORM_ID]:
                return self._send(200, data.form())
            if parts == ["forms", FORM_ID, "responses"]:
                size = int(q.get("page_size", 25))
                if not 1 <= size <= 1000:
                    raise ValueError("page_size must be 1..1000")
                if "after" in q and "sort" in q:
                    raise ValueError("after cannot be combined with sort")
                first = int(q["after"].removeprefix("tf")) + 1 if q.get("after") else 0
                hi = min(data.typeform, first + size)
                items = [data.response(i) for i in range(first, hi)]
                return self._send(200, {"total_items": data.typeform - first,
                                        "page_count": -(-(data.typeform - first) // size),
                                        "items": items})  # fmt: skip
            raise ValueError("no such path")

        # --- Close ------------------------------------------------------------------------

        def _close(self, parts, q):
            limit = int(q.get("_limit", 100))
            skip = int(q.get("_skip", 0))
            if not 1 <= limit <= 100:
                raise ValueError("_limit must be 1..100")
            if skip > CLOSE_MAX_SKIP:
                raise ValueError("_skip is too deep: page by date windows")
            if parts == ["user"]:
                items = [
                    {"id": u, "email": e, "first_name": e.split("@")[0]} for u, e in CLOSE_USERS
                ]
                return self._send(200, {"data": items[skip : skip + limit], "has_more": False})
            makers = {"lead": data.lead, "opportunity": data.opportunity}
            if parts == ["activity", "call"]:
                return self._send(200, {"data": [], "has_more": False})
            if len(parts) != 1 or parts[0] not in makers:
                raise ValueError("no such path")
            make = makers[parts[0]]
            since = q.get("date_created__gte")
            if parts[0] == "lead" and "query" in q and ">=" in q["query"]:
                since = q["query"].split('"')[1]
            first = 0
            if since:
                moment = datetime.fromisoformat(since)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                offset = timedelta(days=1) if parts[0] == "lead" else timedelta(0)
                first = max(0, -(-int((moment + offset - BASE).total_seconds()) // 600))
            lo = first + skip
            hi = min(data.close, lo + limit)
            items = [make(i) for i in range(lo, hi)]
            return self._send(200, {"data": items, "has_more": hi < data.close})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calendly", type=int, default=50_000)
    parser.add_argument("--typeform", type=int, default=50_000)
    parser.add_argument("--close", type=int, default=20_000)
    parser.add_argument("--rate-scale", type=float, default=1.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    data = Data(args.calendly, args.typeform, args.close)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(data, args.rate_scale))
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""Requests per minute per key and per organisation, counted in fixed windows on the cache.

Redis' atomic increment, not DRF's SimpleRateThrottle: that one keeps a list of timestamps per
client, rewritten on every request (slow at hundreds a second, and racy across workers).
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, unit = rate.partition("/")
    return int(count), _UNITS[unit.strip()[:1]]


class _WindowThrottle(BaseThrottle):
    setting = ""
    scope = ""

    def ident(self, key) -> str:
        raise NotImplementedError

    def allow_request(self, request, view):
        key = request.auth
        if key is None or not hasattr(key, "org_id"):
            return True
        limit, window = parse_rate(getattr(settings, self.setting))
        now = time.time()
        slot = int(now // window)
        name = f"api:throttle:{self.scope}:{self.ident(key)}:{slot}"
        try:
            count = 1 if cache.add(name, 1, timeout=window * 2) else cache.incr(name)
        except Exception:  # a cache outage must not take the API down with it
            return True
        self._wait = (slot + 1) * window - now
        return count <= limit

    def wait(self):
        return max(1, int(self._wait + 0.999))


class KeyRateThrottle(_WindowThrottle):
    setting = "API_THROTTLE_KEY_RATE"
    scope = "key"

    def ident(self, key):
        return key.pk


class OrgRateThrottle(_WindowThrottle):
    setting = "API_THROTTLE_ORG_RATE"
    scope = "org"

    def ident(self, key):
        return key.org_id

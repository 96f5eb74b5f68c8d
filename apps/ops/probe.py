"""Container healthcheck: `python -m apps.ops.probe /readyz` exits 0 when the local server
answers 200, else 1.

Standard library only, so a probe every few seconds costs no Django start-up. It asks the way a
proxy in front would: a Host from ALLOWED_HOSTS (any other is a 400) and X-Forwarded-Proto
https (with DEBUG=0 plain HTTP is redirected).
"""

import os
import sys
import urllib.error
import urllib.request


def _host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
    request = urllib.request.Request(url, headers={"Host": _host(), "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - fixed local URL
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError):
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

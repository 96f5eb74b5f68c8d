"""Settings for the side-by-side intake benchmark: production's, plus the floor's URL.

The same settings and middleware serve the real endpoints and the floor (``floor_urls``), so the
difference measured is the endpoints' own work.
"""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.webhooks.floor_urls"
FLOOR_SECRET = os.environ.get("FLOOR_SECRET", "whsec_floor_bench")
FLOOR_ORG_ID = int(os.environ.get("FLOOR_ORG_ID", "0"))

"""What an idempotent upsert did with a record: the one outcome type of every ingestion path.

Services that upsert provider objects (meetings, deals, payments, provenance) answer with it and
the integrations' ingestion reports it per record; it is a ``StrEnum``, so it compares equal to
and is stored as its text.
"""

from enum import StrEnum


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"

"""Signals for contact writes that bypass Django's model signals.

contact_resolve_many writes contacts in bulk (bulk_create and one UPDATE ... FROM unnest) for
speed, so post_save never fires for them; listeners that derive data from contacts (the KPI
rollups) hear about those writes here instead. Bulk writes of the rows that hang off contacts
(deals_upsert_from_crm_many) use the same signal.
"""

from django.dispatch import Signal

# Sent after the transaction's writes, inside it, with keyword arguments:
#   org_id: int
#   moments: list of aware datetimes (first_seen_at before and after the change)
#   moved_contact_ids: contacts whose source or campaign changed (all their rows move)
contacts_bulk_changed = Signal()

# Sent by bulk writes of the rows a contact's journey is made of (touchpoints, deals), which
# send no post_save, with keyword arguments org_id: int and contact_ids: list of contact ids.
journey_rows_bulk_changed = Signal()

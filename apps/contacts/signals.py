"""Domain events a higher layer listens to, sent by bulk writes that send no post_save.

``journey_rows_bulk_changed``: the rows a contact's journey is made of (touchpoints, deals) were
written in bulk; keyword arguments org_id: int and contact_ids: list of contact ids. The
attribution journeys (apps.marketing) refresh those contacts.
"""

from django.dispatch import Signal

journey_rows_bulk_changed = Signal()

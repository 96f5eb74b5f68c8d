"""Identity resolution in three parts, each with a public interface; ``contact_resolve_many``
(apps.contacts.services) runs them per chunk of records, in the order the records were seen:

- ``records``: observations as the pure matcher's records, a contact as its profile and fields;
- ``candidates``: who a chunk of records could be (identifier owners, held objects' contacts,
  namesakes worth weighing), loaded as slots, one per person (``gather_candidates``);
- ``weighing``: one record against its candidates: matches best first, and pairs for review
  (``weigh``);
- ``placing``: the slot each record goes to (its object's contact, its best match or a new
  contact), what it adds to that person, and the chunk's writes (``Placement``).

The decisions themselves are the pure ``attribution.identity`` package's.
"""

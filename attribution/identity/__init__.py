"""Identity resolution: one person across Typeform, Calendly, Close, Stripe and Whop.

``normalize`` turns identifiers into comparable keys, ``match`` decides (with reasons) whether a
record is a known person, ``survivorship`` picks which source wins each field, and ``cluster`` runs
the same rules over a batch. Pure Python: no Django, no database, no network.
"""

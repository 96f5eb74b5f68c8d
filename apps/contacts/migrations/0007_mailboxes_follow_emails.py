"""Every email identifier gets the canonical-mailbox row the current rules give it, and no
mailbox row is left that none of its contact's emails gives.

Rows written before the canonical form of "a.+tag@" was fixed, and emails edited in the admin
before it kept mailboxes in step, broke that rule; the resolver now relies on it (it skips
reading a namesake's emails on the promise that each is also held as a mailbox).
"""

from collections import defaultdict

from django.db import migrations

from attribution.identity.normalize import normalize_email

BATCH = 5_000  # contacts per pass: memory stays flat on a large table


def forwards(apps, schema_editor):
    Identifier = apps.get_model("contacts", "Identifier")
    kinds = ("email", "email_canonical")
    rows = Identifier.objects.filter(kind__in=kinds)
    contact_ids = rows.values_list("contact_id", flat=True).distinct().order_by("contact_id")
    start = 0
    while True:
        batch = list(contact_ids.filter(contact_id__gt=start)[:BATCH])
        if not batch:
            return
        start = batch[-1]
        wanted = defaultdict(dict)  # contact -> canonical -> (org, raw)
        held = defaultdict(dict)  # contact -> canonical -> pk
        for pk, org_id, contact_id, kind, value, raw in rows.filter(
            contact_id__in=batch
        ).values_list("pk", "org_id", "contact_id", "kind", "value", "raw"):
            if kind == "email_canonical":
                held[contact_id][value] = pk
                continue
            email = normalize_email(value)
            if email is not None:
                wanted[contact_id].setdefault(email.canonical, (org_id, raw or value))
        orphans = [
            pk
            for contact_id, mailboxes in held.items()
            for value, pk in mailboxes.items()
            if value not in wanted[contact_id]
        ]
        Identifier.objects.filter(pk__in=orphans).delete()
        for contact_id, mailboxes in wanted.items():
            for value, (org_id, raw) in mailboxes.items():
                if value in held[contact_id]:
                    continue
                others = Identifier.objects.filter(
                    org_id=org_id, kind="email_canonical", value=value
                )
                shared = others.exists()
                if shared:
                    others.update(shared=True)
                Identifier.objects.create(
                    org_id=org_id,
                    contact_id=contact_id,
                    kind="email_canonical",
                    value=value,
                    raw=raw[:320],
                    shared=shared,
                )


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0006_alter_touchpoint_landing_url"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]

"""Source and campaign, on ad spend and on contacts' first touch, in the one spelling of
attribution.touch.channels.normalize_channel, which every new row now gets.

Ad spend rows that become one channel (same org, period and normalised source and campaign) are
merged into the oldest by summing their amounts; rows that would merge across currencies cannot be
summed, so the migration stops and names them. The rollups of every org that changed are then
rebuilt, since they are keyed by the same text.
"""

from collections import defaultdict

from django.db import migrations

from attribution.touch.channels import normalize_channel

BATCH = 2000


def _normalize_ad_spend(AdSpend) -> set[int]:
    groups = defaultdict(list)
    for row in AdSpend.objects.order_by("pk"):
        key = (
            row.org_id,
            row.granularity,
            row.date,
            normalize_channel(row.source),
            normalize_channel(row.campaign),
        )
        groups[key].append(row)
    clashes = [rows for rows in groups.values() if len({row.currency for row in rows}) > 1]
    if clashes:
        lines = [
            ", ".join(f"#{row.pk} {row.amount} {row.currency}" for row in rows) for rows in clashes
        ]
        raise RuntimeError(
            "Ad spend rows that are one channel once normalised are in different currencies "
            "and cannot be summed; correct or delete them in admin, then migrate again:\n  "
            + "\n  ".join(lines)
        )
    touched = set()
    for (org_id, _, _, source, campaign), rows in groups.items():
        keep, *absorbed = rows
        if not absorbed and keep.source == source and keep.campaign == campaign:
            if not keep.source_raw and not keep.campaign_raw:
                keep.source_raw, keep.campaign_raw = keep.source, keep.campaign
                keep.save(update_fields=["source_raw", "campaign_raw"])
            continue
        touched.add(org_id)
        # The absorbed rows go first: the survivor's new key is theirs too.
        AdSpend.objects.filter(pk__in=[row.pk for row in absorbed]).delete()
        keep.amount = sum(row.amount for row in rows)
        keep.source_raw = keep.source_raw or keep.source
        keep.campaign_raw = keep.campaign_raw or keep.campaign
        keep.source, keep.campaign = source, campaign
        keep.save(update_fields=["amount", "source", "campaign", "source_raw", "campaign_raw"])
    return touched


def _normalize_contacts(Contact) -> set[int]:
    touched, changed = set(), []
    rows = Contact.objects.only("pk", "org_id", "original_source", "original_campaign")
    for contact in rows.iterator(chunk_size=BATCH):
        source = normalize_channel(contact.original_source)
        campaign = normalize_channel(contact.original_campaign)
        if (source, campaign) != (contact.original_source, contact.original_campaign):
            contact.original_source, contact.original_campaign = source, campaign
            changed.append(contact)
            touched.add(contact.org_id)
        if len(changed) >= BATCH:
            Contact.objects.bulk_update(changed, ["original_source", "original_campaign"])
            changed = []
    Contact.objects.bulk_update(changed, ["original_source", "original_campaign"])
    return touched


def forwards(apps, schema_editor):
    touched = _normalize_ad_spend(apps.get_model("kpis", "AdSpend"))
    touched |= _normalize_contacts(apps.get_model("contacts", "Contact"))
    if not touched:
        return
    # Rollups are derived data with one definition, the rebuild service; a frozen copy here
    # would drift from it. The service uses the current models, so this holds only while no later
    # migration changes the tables it reads: when one does, drop this call (the nightly rebuild,
    # kpis 0004, repairs the rollups within a day) rather than let old databases fail here.
    from apps.kpis.services import rollup_rebuild
    from apps.orgs.models import Organization

    for org in Organization.objects.filter(pk__in=touched):
        rollup_rebuild(org=org)


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0006_adspend_raw_text"),
        ("contacts", "0010_contact_erased_idx"),
    ]

    # The raw text is kept on ad spend, and Touchpoint keeps each contact's raw UTMs: nothing to
    # undo, so going back leaves the normalised values in place.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Audit rows written before this release named people by email: role changes held the member's
address and invitations the invitee's. The trail now names people by id only; this rewrites the
old rows the same way, so an export of the audit log holds no addresses."""

from django.db import migrations


def forwards(apps, schema_editor):
    AuditLog = apps.get_model("orgs", "AuditLog")
    User = apps.get_model("orgs", "User")
    for row in AuditLog.objects.filter(action="membership.role").iterator():
        value = row.data.get("user")
        if isinstance(value, str) and "@" in value:
            user = User.objects.filter(email__iexact=value).only("pk").first()
            row.data["user"] = user.pk if user else None
            row.save(update_fields=["data"])
    for row in AuditLog.objects.filter(action="invitation.create", data__has_key="email"):
        row.data.pop("email")
        row.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [("orgs", "0001_initial")]

    # Irreversible by design: the addresses are not to come back.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

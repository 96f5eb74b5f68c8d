"""Re-resolve "showed" when the org default it falls back on changes (KPIS.md "Showed").

A signal rather than a call in the settings view: the setting is also edited in Django admin and by
scripts, and every path must leave the stored ``Meeting.showed`` right.
"""

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from apps.orgs.models import Organization


@receiver(pre_save, sender=Organization)
def _remember_assume_show(sender, instance: Organization, **kwargs):
    if instance.pk is None:
        instance._old_assume_show = None
        return
    instance._old_assume_show = (
        Organization.objects.filter(pk=instance.pk)
        .values_list("assume_show_without_outcome", flat=True)
        .first()
    )


@receiver(post_save, sender=Organization)
def _recompute_on_assume_show_change(sender, instance: Organization, created, **kwargs):
    old = getattr(instance, "_old_assume_show", None)
    if created or old is None or old == instance.assume_show_without_outcome:
        return
    from apps.meetings.tasks import org_recompute_showed_task

    org_id = instance.pk
    transaction.on_commit(lambda: org_recompute_showed_task.delay(org_id))

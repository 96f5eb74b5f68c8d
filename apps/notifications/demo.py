"""Demo rows for `seed_demo`: an email channel for the ops alerts and the daily report, the
org's report time, and one sent delivery, so every notifications admin page shows something."""

from datetime import time

from apps.notifications.models import Channel, Delivery, Kind, NotificationSettings


def notifications_seed_demo(*, org, now) -> None:
    channel = Channel.objects.create(
        org=org,
        name="Managers by email",
        type=Channel.Type.EMAIL,
        email_to="manager@demo.example",
        kinds=[Kind.DAILY_REPORT, Kind.SYNC_FAILED, Kind.CREDENTIAL_REFUSED, Kind.INBOX_BACKLOG],
    )
    NotificationSettings.objects.create(org=org, daily_report_time=time(8, 30))
    Delivery.objects.create(
        org=org,
        kind=Kind.TEST,
        subject=f"channel-{channel.pk}",
        period=now.isoformat(),
        channel=channel,
        target=f"channel:{channel.pk}",
        status=Delivery.Status.SENT,
        attempts=1,
        sent_at=now,
    )

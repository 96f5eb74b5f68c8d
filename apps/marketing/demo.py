"""The demo's marketing: campaigns with daily spend, impressions and clicks on several channels,
and extra touches on the demo's contacts so journeys have more than one step. Every chart of the
attribution page then has something to say (model differences, a creative to refresh, a
campaign to review, paths of several channels)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.contacts.models import Contact, Touchpoint
from apps.marketing.models import Campaign, CampaignDay, ChannelMapping
from apps.marketing.services import journeys_rebuild

__all__ = ["seed_marketing_demo"]

# (channel, utm_source used in links, campaign, daily spend range, impressions per day, CTR)
CAMPAIGNS = [
    ("meta", "facebook", "spring-webinar", (60, 180), (6000, 12000), 0.012),
    ("meta", "facebook", "vsl-cold", (80, 220), (9000, 16000), 0.004),  # a creative to refresh
    ("meta", "facebook", "retarget-30d", (20, 70), (2000, 5000), 0.02),
    ("meta", "instagram", "reels-q2", (30, 90), (5000, 9000), 0.009),
    ("youtube", "youtube", "case-study", (40, 120), (3000, 7000), 0.007),
    ("youtube", "youtube", "long-form", (30, 80), (2000, 4000), 0.006),
    ("google", "google", "brand", (20, 60), (800, 1500), 0.08),
    ("google", "google", "high-intent", (60, 160), (1500, 3000), 0.05),
    ("tiktok", "tiktok", "ugc-hooks", (40, 110), (10000, 20000), 0.008),
    ("linkedin", "linkedin", "founder-posts", (50, 90), (1500, 3000), 0.006),  # spend, no sale
]


def seed_marketing_demo(org, *, rng: random.Random) -> None:
    now = timezone.now()
    start = (now - timedelta(days=182)).date()
    ChannelMapping.objects.get_or_create(
        org=org, source="partner", defaults={"channel": "affiliates"}
    )
    ChannelMapping.objects.get_or_create(
        org=org, source="newsletter", defaults={"channel": "email"}
    )
    days = []
    for channel, _, name, spend, impressions, ctr in CAMPAIGNS:
        campaign, _ = Campaign.objects.get_or_create(
            org=org, channel=channel, name=name,
            defaults={"platform_id": f"{channel[:2]}-{rng.randint(10**8, 10**9)}",
                      "budget": Decimal(spend[1] * 30), "start_date": start},
        )  # fmt: skip
        day = start
        while day <= now.date():
            shown = rng.randint(*impressions)
            clicks = max(0, round(shown * ctr * rng.uniform(0.7, 1.3)))
            days.append(
                CampaignDay(
                    org=org, campaign=campaign, date=day, spend=Decimal(rng.randint(*spend)),
                    impressions=shown, clicks=clicks,
                    platform_conversions=Decimal(rng.randint(0, 3)),
                )
            )  # fmt: skip
            day += timedelta(days=1)
    CampaignDay.objects.bulk_create(days, ignore_conflicts=True)

    # Extra touches between a contact's first touch and a couple of weeks later: the ads they
    # saw after the first click (retargeting, a YouTube case study, a brand search...).
    linked = [(source, name) for _, source, name, *_ in CAMPAIGNS if name != "founder-posts"]
    linked += [("partner", "podcast"), ("newsletter", "weekly"), ("", "")]
    touches = []
    contacts = Contact.objects.filter(
        org=org, merged_into__isnull=True, first_seen_at__isnull=False
    )
    for contact in contacts.only("pk", "first_seen_at"):
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            at = contact.first_seen_at + timedelta(hours=rng.randint(2, 14 * 24))
            if at >= now:
                continue
            source, name = rng.choice(linked)
            touches.append(
                Touchpoint(org=org, contact=contact, kind="form", occurred_at=at,
                           utm_source=source, utm_medium="paid" if source else "",
                           utm_campaign=name)
            )  # fmt: skip
    Touchpoint.objects.bulk_create(touches)
    journeys_rebuild(org=org)

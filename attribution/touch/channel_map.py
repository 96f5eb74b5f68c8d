"""utm_source -> channel: the org's table first, then these defaults, then the source itself.

ATTRIBUTION.md: a touch's channel is its utm_source, lower-cased and mapped through the org's
channel table (``fb``, ``facebook``, ``ig`` -> Meta); no UTM -> ``direct``; CRM-created ->
``crm``.
"""

from collections.abc import Mapping

from attribution.touch.channels import normalize_channel

__all__ = ["CHANNEL_LABELS", "CRM", "DEFAULT_CHANNELS", "DIRECT", "channel_for"]

DIRECT = "direct"
CRM = "crm"

DEFAULT_CHANNELS: dict[str, str] = {
    "fb": "meta",
    "facebook": "meta",
    "ig": "meta",
    "instagram": "meta",
    "meta": "meta",
    "facebook ads": "meta",
    "google": "google",
    "adwords": "google",
    "gads": "google",
    "google ads": "google",
    "yt": "youtube",
    "youtube": "youtube",
    "tiktok": "tiktok",
    "tt": "tiktok",
    "linkedin": "linkedin",
    "li": "linkedin",
    "twitter": "x",
    "x": "x",
    "bing": "bing",
    "email": "email",
    "newsletter": "email",
    "none": DIRECT,
    "(none)": DIRECT,
    "direct": DIRECT,
    "(direct)": DIRECT,
    "crm": CRM,
    "close": CRM,
}


def channel_for(source: str | None, *, kind: str = "", mapping: Mapping[str, str] = ()) -> str:
    """The channel of a touch with this utm_source (any spelling) and touch kind.

    ``mapping`` is the org's own table (normalised source -> channel), which wins over the
    defaults; a source in neither is its own channel.
    """
    key = normalize_channel(source)
    if not key:
        return CRM if kind == "crm_lead" else DIRECT
    mapping = dict(mapping)
    if key in mapping:
        return mapping[key]
    return DEFAULT_CHANNELS.get(key, key)


# How the data-driven models' sentences name the default channels ("Without YouTube, ...").
CHANNEL_LABELS: dict[str, str] = {
    "meta": "Meta",
    "google": "Google",
    "youtube": "YouTube",
    "tiktok": "TikTok",
    "linkedin": "LinkedIn",
    "x": "X",
    "bing": "Bing",
    "email": "Email",
    "direct": "Direct",
    "crm": "CRM",
    "other": "Other channels",
}

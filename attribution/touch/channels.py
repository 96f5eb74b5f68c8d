"""One spelling per marketing source and campaign.

Ad spend is typed by people and UTMs by whoever built the link, yet the KPIs join the two on
equal text: "Facebook/VSL-Cold " and "facebook/vsl-cold" must be one channel, or the spend of one
and the leads of the other both end up in a row with nothing to divide by.
"""

import unicodedata

__all__ = ["normalize_channel"]


def normalize_channel(value: str | None) -> str:
    """Trimmed, inner whitespace collapsed to one space, case-folded (NFKC first, so a
    full-width or compatibility character folds like its plain twin)."""
    text = unicodedata.normalize("NFKC", value or "")
    return " ".join(text.split()).casefold()

"""Properties every model keeps, on journeys hypothesis makes up."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.touch.journeys import Journey, Touch, in_window
from attribution.touch.models import MODELS, RULE_MODELS, credit, touch_weights
from tests.attribution.touch._build import day, journey

CHANNELS = ("direct", "meta", "google", "youtube", "email")


@st.composite
def journeys(draw) -> list[Journey]:
    out = []
    for number in range(draw(st.integers(min_value=0, max_value=14))):
        offsets = sorted(
            draw(st.lists(st.floats(min_value=0, max_value=200), min_size=0, max_size=6))
        )
        touches = tuple(
            Touch(
                at=day(offset),
                channel=draw(st.sampled_from(CHANNELS)),
                campaign=draw(st.sampled_from(("", "cold", "warm"))),
                milestone=draw(st.sampled_from((None, None, "lead", "triage", "solution"))),
            )
            for offset in offsets
        )
        if draw(st.booleans()):
            value = draw(st.decimals(min_value=-500, max_value=50_000, places=2))
            converted = day(draw(st.floats(min_value=0, max_value=220)))
            out.append(in_window(Journey(str(number), touches, converted, value)))
        else:
            out.append(Journey(str(number), touches, None))
    return out


_settings = settings(max_examples=80, deadline=None)


@_settings
@given(journeys=journeys(), model=st.sampled_from(RULE_MODELS), half_life=st.floats(0.1, 60))
def test_touch_weights_are_non_negative_and_sum_to_exactly_one(journeys, model, half_life):
    for one in journeys:
        weights = touch_weights(one, model=model, half_life_days=half_life)
        assert len(weights) == len(one.touches)
        if weights:
            assert sum(weights) == 1
            assert all(w >= 0 for w in weights)


@_settings
@given(journeys=journeys(), model=st.sampled_from(MODELS))
def test_credited_money_adds_up_to_the_total_to_the_cent(journeys, model):
    result = credit(journeys, model=model, min_journeys=2, max_players=4)

    converting = [j for j in journeys if j.converted_at is not None]
    assert result.total == sum(j.value for j in converting)
    assert sum(c.credited for c in result.channels.values()) == result.total
    assert all(c.credited == c.credited.quantize(Decimal("0.01")) for c in result.channels.values())
    assert sum(c.conversions for c in result.channels.values()) == len(converting)
    assert result.conversions == len(converting)


@_settings
@given(journeys=journeys(), model=st.sampled_from(MODELS))
def test_campaign_credits_add_up_to_their_channel(journeys, model):
    result = credit(journeys, model=model, min_journeys=2, max_players=4)

    for channel, figures in result.channels.items():
        campaigns = [c for (ch, _), c in result.campaigns.items() if ch == channel]
        assert sum(c.credited for c in campaigns) == figures.credited
        assert sum(c.conversions for c in campaigns) == figures.conversions
    assert {ch for ch, _ in result.campaigns} == set(result.channels)


@_settings
@given(
    journeys=journeys(),
    model=st.sampled_from(MODELS),
    order=st.permutations(CHANNELS[1:]),
)
def test_renaming_channels_renames_their_credit(journeys, model, order):
    rename = dict(zip(CHANNELS[1:], order, strict=True)) | {"direct": "direct"}
    renamed = [
        Journey(
            j.key,
            tuple(
                Touch(t.at, rename[t.channel], t.campaign, t.kind, t.milestone) for t in j.touches
            ),
            j.converted_at,
            j.value,
        )
        for j in journeys
    ]

    before = credit(journeys, model=model, min_journeys=2)
    after = credit(renamed, model=model, min_journeys=2)

    assert set(after.channels) == {rename.get(c, c) for c in before.channels}
    assert after.total == before.total
    for channel, figures in before.channels.items():
        moved = after.channels[rename.get(channel, channel)]
        # Two channels with the same exact share tie for a last cent, which goes by name.
        assert abs(moved.credited - figures.credited) <= Decimal("0.01") * len(before.channels)
        if model in RULE_MODELS:
            assert moved.conversions == figures.conversions
        else:
            assert abs(moved.conversions - figures.conversions) <= Decimal("1E-9")


def test_renaming_channels_renames_their_credit_exactly_without_ties():
    journeys = [
        journey("meta", "google", value="100.00", key="1"),
        journey("google", value="35.00", key="2"),
        journey("meta", key="3"),
        journey("youtube", "meta", value="12.34", key="4"),
        journey("google", "email", key="5"),
    ]
    swap = {"meta": "google", "google": "meta", "youtube": "email", "email": "youtube"}
    renamed = [
        Journey(
            j.key, tuple(Touch(t.at, swap[t.channel]) for t in j.touches), j.converted_at, j.value
        )
        for j in journeys
    ]

    for model in MODELS:
        before = credit(journeys, model=model, min_journeys=1)
        after = credit(renamed, model=model, min_journeys=1)
        assert {swap[c]: v.credited for c, v in before.channels.items()} == {
            c: v.credited for c, v in after.channels.items()
        }, model

"""Every attribution model of ATTRIBUTION.md, from journeys to money per channel and campaign.

Rule-based models weight each touch of a converting journey (:func:`touch_weights`); the
data-driven ones (Markov removal effect, Shapley value) credit channels from every journey at once.
:func:`credit` turns either into money and fractional conversions per channel and per campaign:

- ``total`` is the sum of the converting journeys' values, each rounded to the cent first;
- channel credits are the exact credits rounded with largest remainder so they add up to
  ``total`` to the cent, and each channel's campaign credits are rounded the same way so they add
  up to that channel's credit to the cent (see :func:`attribution.touch.weights.round_to_total`);
- conversions are not rounded: they add up exactly to the number of converting journeys.

Journeys are credited as given: apply :func:`attribution.touch.journeys.in_window` first. A
converting journey without any touch is credited to ``direct`` all the same.

Data-driven models credit channels, not campaigns. A channel's credit is split over its campaigns
in proportion to its touches in the converting journeys, each journey weighing its absolute value
(a journey with two touches of the channel, one per campaign, gives each campaign half its value);
when the channel's converting journeys are all worth 0 each counts 1, and a channel seen only in
non-converting journeys (Markov can credit one that leads to others) splits by all its touches.
Campaigns of channels pooled as ``other`` are listed under ``("other", campaign)`` and the pooled
channel names in :attr:`Credit.pooled`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from itertools import pairwise
from operator import attrgetter
from typing import Literal

import numpy as np

from attribution.touch.journeys import DIRECT, Journey, Touch
from attribution.touch.weights import attribution_weights, normalised, round_to_total

__all__ = [
    "DATA_DRIVEN_MODELS",
    "MODELS",
    "OTHER",
    "RULE_MODELS",
    "ChannelCredit",
    "Credit",
    "credit",
    "markov_conversion_probability",
    "markov_removal_effects",
    "shapley_values",
    "touch_credit",
    "touch_weights",
]

MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "w_shaped",
    "markov",
    "shapley",
)
RULE_MODELS = MODELS[:7]
DATA_DRIVEN_MODELS = MODELS[7:]
OTHER = "other"

CENT = Decimal("0.01")
_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN)
_PLACES = Decimal("1E-12")
_MILESTONE_SHARE = Decimal("0.3")
_W_REST = Decimal("0.1")
_LEGACY = {
    "first_touch": "first",
    "last_touch": "last",
    "linear": "linear",
    "position_based": "position",
}


@dataclass(frozen=True, slots=True)
class ChannelCredit:
    credited: Decimal  # money, to the cent
    conversions: Decimal  # fractional


@dataclass(frozen=True)
class Credit:
    model: str
    total: Decimal
    channels: dict[str, ChannelCredit]
    campaigns: dict[tuple[str, str], ChannelCredit]
    conversions: Decimal = Decimal(0)
    # Data-driven models: one sentence per channel a manager understands.
    explanations: dict[str, str] = field(default_factory=dict)
    # Channel names pooled as ``other`` (too rare for Markov, beyond max_players for Shapley).
    pooled: tuple[str, ...] = ()


def touch_weights(
    journey: Journey, *, model: str, half_life_days: float = 7
) -> tuple[Decimal, ...]:
    """One weight per touch of ``journey`` (touches oldest first), summing to exactly 1.

    - ``last_non_direct``: the last touch whose channel is not ``direct``; all direct: the last.
    - ``time_decay``: ``2^(-d/half_life_days)``, d = days from the touch to the conversion (to the
      last touch for a journey that did not convert).
    - ``position_based``: 40% first, 40% last, 20% shared by the middle; 1 touch 100%, 2 touches
      50/50.
    - ``w_shaped``: 30% to each of the first touch marked ``lead``, ``triage`` and ``solution``; a
      missing milestone gives its 30% to the first touch; 10% shared by the touches holding no
      milestone share, and when every touch holds one, the whole is spread in proportion to the
      milestone shares (three touches, three milestones: a third each).

    An empty journey has no weights. Markov and Shapley credit channels, not touches: ValueError.
    """
    touches = journey.touches
    if not touches:
        return ()
    if model == "time_decay":
        return _time_decay(journey, half_life_days)
    if model in _LEGACY:
        return attribution_weights(
            [t.at for t in touches],
            model=_LEGACY[model],  # type: ignore[arg-type]
            converted_at=journey.converted_at,
        )
    if model == "last_non_direct":
        chosen = max(
            (i for i, t in enumerate(touches) if t.channel != DIRECT), default=len(touches) - 1
        )
        return tuple(Decimal(1) if i == chosen else Decimal(0) for i in range(len(touches)))
    if model == "w_shaped":
        return _w_shaped(touches)
    if model in DATA_DRIVEN_MODELS:
        raise ValueError(f"{model} credits channels, not touches: use credit()")
    raise ValueError(f"unknown attribution model {model!r}")


def _time_decay(journey: Journey, half_life_days: float) -> tuple[Decimal, ...]:
    # Binary floating point for 2^x (Decimal powers are a hundred times slower), relative to the
    # newest touch so only touches many half-lives older than it underflow to 0; the weights are
    # then normalised in Decimal to sum to exactly 1. A touch after the conversion (clock skew
    # between sources) counts as at the conversion.
    if not half_life_days > 0:
        raise ValueError("half_life_days must be positive")
    end = journey.converted_at or journey.touches[-1].at
    days = [max((end - t.at).total_seconds(), 0.0) / 86400 for t in journey.touches]
    if any(later.at < earlier.at for earlier, later in pairwise(journey.touches)):
        raise ValueError("touchpoints must be ordered oldest first")
    newest = min(days)
    return normalised([Decimal(repr(2.0 ** (-(d - newest) / half_life_days))) for d in days])


def _w_shaped(touches: Sequence[Touch]) -> tuple[Decimal, ...]:
    with localcontext(_CONTEXT):
        raw = [Decimal(0)] * len(touches)
        holders = set()
        for milestone in ("lead", "triage", "solution"):
            index = next((i for i, t in enumerate(touches) if t.milestone == milestone), 0)
            raw[index] += _MILESTONE_SHARE
            holders.add(index)
        rest = [i for i in range(len(touches)) if i not in holders]
        for i in rest:
            raw[i] += _W_REST / len(rest)
        return normalised(raw)


def touch_credit(journey: Journey, *, model: str, half_life_days: float = 7) -> tuple[Decimal, ...]:
    """The journey's value (rounded to the cent) split over its touches to the cent (the
    journey drill-down); a converting journey without touches: see :func:`credited_touches`."""
    journey = _credited(journey)
    weights = touch_weights(journey, model=model, half_life_days=half_life_days)
    with localcontext(_CONTEXT):
        value = _cents(journey.value)
        return round_to_total([value * w for w in weights], value)


def credit(
    journeys: Sequence[Journey],
    *,
    model: str,
    half_life_days: float = 7,
    min_journeys: int = 10,
    max_players: int = 15,
    value_label: str = "revenue",
    labels: Mapping[str, str] | None = None,
) -> Credit:
    """Money and fractional conversions per channel and per campaign under ``model``.

    ``min_journeys`` is Markov's pooling threshold, ``max_players`` Shapley's; ``value_label``
    names the value in the Shapley sentences ("... is 18% of revenue") and ``labels`` gives the
    channels' display names for the sentences ("youtube" -> "YouTube"; the key stays "youtube").
    """
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}")
    journeys = [_credited(j) for j in journeys]
    with localcontext(_CONTEXT):
        if model in RULE_MODELS:
            return _rule_credit(journeys, model=model, half_life_days=half_life_days)
        if model == "markov":
            return _markov_credit(journeys, min_journeys=min_journeys, labels=labels or {})
        return _shapley_credit(
            journeys, max_players=max_players, value_label=value_label, labels=labels or {}
        )


# -- rule-based ---------------------------------------------------------------------------------


def _rule_credit(journeys: Sequence[Journey], *, model: str, half_life_days: float) -> Credit:
    money: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    conversions: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for journey in journeys:
        if journey.converted_at is None:
            continue
        value = _cents(journey.value)
        weights = touch_weights(journey, model=model, half_life_days=half_life_days)
        for touch, weight in zip(journey.touches, weights, strict=True):
            if weight:
                key = (touch.channel, touch.campaign)
                money[key] += value * weight
                conversions[key] += weight
    return _assemble(model, _total(journeys), _converting(journeys), money, conversions)


# -- Markov -------------------------------------------------------------------------------------


def markov_removal_effects(
    journeys: Sequence[Journey], *, min_journeys: int = 10
) -> dict[str, Decimal]:
    """Removal effect per channel (``other`` for the pooled ones), each in [0, 1], 12 decimals.

    A first-order chain ``start -> channel -> ... -> conversion | null`` over every journey,
    converting or not (a journey without touches that did not convert tells nothing and is left
    out); consecutive touches of one channel are one state visit (a self-loop does not change where
    the chain is absorbed). Transition probabilities are the observed counts; P(conversion) from
    ``start`` is solved exactly from the absorbing chain, ``(I - Q) h = r``. Removing channel c
    sends its inflow to ``null``; its removal effect is ``1 - P(without c) / P``. Channels present
    in fewer than ``min_journeys`` journeys are pooled as ``other``. No conversion: all 0.
    """
    return _markov([_credited(j) for j in journeys], min_journeys=min_journeys)[1]


def markov_conversion_probability(
    journeys: Sequence[Journey], *, min_journeys: int = 10, without: str | None = None
) -> float:
    """P(conversion) of the chain of :func:`markov_removal_effects`, optionally with one channel
    (after pooling) removed."""
    chain = _MarkovChain.build([_credited(j) for j in journeys], min_journeys=min_journeys)
    return chain.probability(without)


@dataclass(frozen=True)
class _MarkovChain:
    channels: tuple[str, ...]  # state i + 1; state 0 is start
    transient: np.ndarray  # Q: (n+1) x (n+1) transition probabilities between transient states
    to_conversion: np.ndarray  # r
    pooled: tuple[str, ...]

    @classmethod
    def build(cls, journeys: Sequence[Journey], *, min_journeys: int) -> _MarkovChain:
        # Journeys repeat the same few paths: count each distinct path once.
        channel_of = attrgetter("channel")
        paths: Counter[tuple[tuple[str, ...], bool]] = Counter(
            (tuple(map(channel_of, j.touches)), j.converted_at is not None)
            for j in journeys
            if j.touches
        )
        presence: Counter[str] = Counter()
        for (path, _), n in paths.items():
            for channel in set(path):
                presence[channel] += n
        pooled = tuple(sorted(c for c, n in presence.items() if n < min_journeys))
        rename = dict.fromkeys(pooled, OTHER)
        channels = tuple(sorted({rename.get(c, c) for c in presence}))
        index = {c: i + 1 for i, c in enumerate(channels)}
        state_of = {c: index[rename.get(c, c)] for c in presence}
        size = len(channels) + 1
        conversion, null = size, size + 1
        pairs: Counter[tuple[int, int]] = Counter()
        for (path, converted), n in paths.items():
            previous = 0
            for channel in path:
                state = state_of[channel]
                if state != previous:
                    pairs[previous, state] += n
                    previous = state
            pairs[previous, conversion if converted else null] += n
        counts = np.zeros((size, size + 2))
        for (source, target), n in pairs.items():
            counts[source, target] = n
        totals = counts.sum(axis=1, keepdims=True)
        probabilities = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        return cls(
            channels=channels,
            transient=probabilities[:, :size],
            to_conversion=probabilities[:, conversion],
            pooled=pooled,
        )

    def probability(self, without: str | None = None) -> float:
        keep = np.ones(len(self.channels) + 1, dtype=bool)
        if without is not None:
            if without not in self.channels:
                raise ValueError(f"no channel {without!r} in the chain")
            keep[self.channels.index(without) + 1] = False
        q = self.transient[np.ix_(keep, keep)]
        r = self.to_conversion[keep]
        if not r.any():
            return 0.0
        absorbed = np.linalg.solve(np.eye(len(r)) - q, r)
        return float(min(max(absorbed[0], 0.0), 1.0))


def _markov(
    journeys: Sequence[Journey], *, min_journeys: int
) -> tuple[float, dict[str, Decimal], tuple[str, ...]]:
    chain = _MarkovChain.build(journeys, min_journeys=min_journeys)
    base = chain.probability()
    effects = {}
    for channel in chain.channels:
        effect = 0.0 if base == 0 else 1 - chain.probability(channel) / base
        effects[channel] = _decimal(min(max(effect, 0.0), 1.0))
    return base, effects, chain.pooled


def _markov_credit(
    journeys: Sequence[Journey], *, min_journeys: int, labels: Mapping[str, str]
) -> Credit:
    _, effects, pooled = _markov(journeys, min_journeys=min_journeys)
    converting = _converting(journeys)
    total = _total(journeys)
    shares = _shares(effects) if converting else {}
    explanations = {
        c: f"Without {labels.get(c, c)}, {_percent(e)} of conversions would be lost"
        for c, e in effects.items()
    }
    return _channel_level(
        "markov",
        journeys,
        money={c: total * s for c, s in shares.items()},
        conversions={c: converting * s for c, s in shares.items()},
        pooled=pooled,
        explanations=explanations,
    )


# -- Shapley ------------------------------------------------------------------------------------


def shapley_values(
    journeys: Sequence[Journey],
    *,
    max_players: int = 15,
    by: Literal["value", "conversions"] = "value",
) -> dict[str, Decimal]:
    """Exact Shapley value per channel of the game v(S) = value (or count) of the converting
    journeys whose channel set is a subset of S; the values add up to v(all channels).

    Players are the channels of converting journeys; beyond ``max_players`` the most frequent
    ``max_players - 1`` stay and the rest are pooled as ``other``. Computed by the subset formula
    in exact integer arithmetic (values in cents), then given with 12 decimals (largest
    remainder, so they still add up exactly): journeys are counted once per channel-set
    bitmask, v(S) for all 2^n subsets comes from a subset-sum (zeta) transform, and
    phi_i = sum over S not containing i of |S|! (n-|S|-1)! / n! (v(S + i) - v(S)).
    """
    return _shapley([_credited(j) for j in journeys], max_players=max_players, by=by)[0]


def _shapley(
    journeys: Sequence[Journey], *, max_players: int, by: str
) -> tuple[dict[str, Decimal], tuple[str, ...]]:
    if max_players < 1:
        raise ValueError("max_players must be at least 1")
    if by not in ("value", "conversions"):
        raise ValueError(f"unknown Shapley value {by!r}")
    sets = []
    presence: Counter[str] = Counter()
    for journey in journeys:
        if journey.converted_at is None:
            continue
        channels = frozenset(t.channel for t in journey.touches)
        presence.update(channels)
        worth = int(_cents(journey.value) / CENT) if by == "value" else 1
        sets.append((channels, worth))
    ranked = sorted(presence, key=lambda c: (-presence[c], c))
    pooled: tuple[str, ...] = ()
    if len(ranked) > max_players:
        pooled = tuple(sorted(ranked[max_players - 1 :]))
    rename = dict.fromkeys(pooled, OTHER)
    players = tuple(sorted({rename.get(c, c) for c in ranked}))
    if not players:
        return {}, pooled
    bit = {c: 1 << i for i, c in enumerate(players)}
    n = len(players)
    worth_by_mask: Counter[int] = Counter()
    for channels, worth in sets:
        mask = 0
        for c in channels:
            mask |= bit[rename.get(c, c)]
        worth_by_mask[mask] += worth
    v = np.zeros(1 << n, dtype=object)
    v[:] = 0
    for mask, worth in worth_by_mask.items():
        v[mask] = worth
    for i in range(n):  # zeta transform: v[S] = sum of worth over the subsets of S
        view = v.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    sizes = np.array([m.bit_count() for m in range(1 << n)])
    coefficient = np.array(
        [math.factorial(k) * math.factorial(n - k - 1) for k in range(n)], dtype=object
    )
    scale = Decimal(math.factorial(n)) * (100 if by == "value" else 1)
    exact = []
    with localcontext(_CONTEXT):
        for i in range(n):
            view = v.reshape(-1, 2, 1 << i)
            gain = view[:, 1, :] - view[:, 0, :]
            without = sizes.reshape(-1, 2, 1 << i)[:, 0, :]
            exact.append(Decimal(int((coefficient[without] * gain).sum())) / scale)
        # 12 decimals, rounded with largest remainder so they add up to v(every channel) exactly.
        grand = Decimal(int(v[-1])) / (100 if by == "value" else 1)
        rounded = round_to_total(exact, grand, quantum=_PLACES)
    return dict(zip(players, rounded, strict=True)), pooled


def _shapley_credit(
    journeys: Sequence[Journey], *, max_players: int, value_label: str, labels: Mapping[str, str]
) -> Credit:
    money, pooled = _shapley(journeys, max_players=max_players, by="value")
    counts, _ = _shapley(journeys, max_players=max_players, by="conversions")
    converting = _converting(journeys)
    shares = _shares(counts)
    total = _total(journeys)
    if total:
        explanations = {
            c: f"{labels.get(c, c)}'s average added value across every order of channels is "
            f"{_percent(phi / total)} of {value_label}"
            for c, phi in money.items()
        }
    else:
        explanations = {
            c: f"{labels.get(c, c)}'s average added value across every order of channels is "
            f"{_percent(phi / converting)} of conversions"
            for c, phi in counts.items()
        }
    return _channel_level(
        "shapley",
        journeys,
        money=money,
        conversions={c: converting * s for c, s in shares.items()},
        pooled=pooled,
        explanations=explanations,
    )


# -- shared -------------------------------------------------------------------------------------


def _credited(journey: Journey) -> Journey:
    if journey.touches or journey.converted_at is None:
        return journey
    touch = Touch(at=journey.converted_at, channel=DIRECT, kind="conversion")
    return Journey(journey.key, (touch,), journey.converted_at, journey.value)


def _cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _total(journeys: Iterable[Journey]) -> Decimal:
    with localcontext(_CONTEXT):
        return sum((_cents(j.value) for j in journeys if j.converted_at is not None), Decimal(0))


def _converting(journeys: Iterable[Journey]) -> int:
    return sum(1 for j in journeys if j.converted_at is not None)


def _decimal(number: float) -> Decimal:
    rounded = Decimal(repr(number)).quantize(_PLACES)
    return rounded if rounded else Decimal(0)


def _shares(amounts: Mapping[str, Decimal]) -> dict[str, Decimal]:
    names = sorted(amounts)
    return dict(zip(names, normalised([max(amounts[c], Decimal(0)) for c in names]), strict=True))


def _percent(fraction: Decimal) -> str:
    percent = (fraction * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    if percent == 0 and fraction > 0:
        return "less than 1%"
    return f"{percent}%"


def _channel_level(
    model: str,
    journeys: Sequence[Journey],
    *,
    money: Mapping[str, Decimal],
    conversions: Mapping[str, Decimal],
    pooled: tuple[str, ...],
    explanations: dict[str, str],
) -> Credit:
    """Channel credit of a data-driven model, split over campaigns by the module's rule."""
    rename = dict.fromkeys(pooled, OTHER)
    by_value: dict[str, Counter[str]] = defaultdict(Counter)
    by_count: dict[str, Counter[str]] = defaultdict(Counter)
    for journey in journeys:
        if journey.converted_at is None:
            continue
        worth = abs(_cents(journey.value))
        for channel, campaigns in _campaign_mix(journey, rename).items():
            seen = sum(campaigns.values())
            for campaign, n in campaigns.items():
                by_value[channel][campaign] += worth * n / seen
                by_count[channel][campaign] += Decimal(n) / seen
    by_touch: dict[str, Counter[str]] = defaultdict(Counter)
    if set(money) - set(by_count):  # credited, never in a converting journey: read them all
        for journey in journeys:
            for channel, campaigns in _campaign_mix(journey, rename).items():
                by_touch[channel].update(campaigns)
    campaign_money: dict[tuple[str, str], Decimal] = {}
    campaign_conversions: dict[tuple[str, str], Decimal] = {}
    for channel in set(money) | set(conversions):
        mix_ = next(
            (m[channel] for m in (by_value, by_count, by_touch) if sum(m[channel].values())),
            Counter({"": 1}),
        )
        names = sorted(mix_)
        for name, share in zip(names, normalised([Decimal(mix_[n]) for n in names]), strict=True):
            campaign_money[channel, name] = money.get(channel, Decimal(0)) * share
            campaign_conversions[channel, name] = conversions.get(channel, Decimal(0)) * share
    return _assemble(
        model,
        _total(journeys),
        _converting(journeys),
        campaign_money,
        campaign_conversions,
        explanations=explanations,
        pooled=pooled,
    )


def _campaign_mix(journey: Journey, rename: Mapping[str, str]) -> dict[str, Counter[str]]:
    mix: dict[str, Counter[str]] = defaultdict(Counter)
    for touch in journey.touches:
        mix[rename.get(touch.channel, touch.channel)][touch.campaign] += 1
    return mix


def _assemble(
    model: str,
    total: Decimal,
    converting: int,
    money: Mapping[tuple[str, str], Decimal],
    conversions: Mapping[tuple[str, str], Decimal],
    *,
    explanations: dict[str, str] | None = None,
    pooled: tuple[str, ...] = (),
) -> Credit:
    """Round exact campaign credits: channels to the total, then campaigns to their channel."""
    with localcontext(_CONTEXT):
        keys = sorted(set(money) | set(conversions))
        channel_names = sorted({channel for channel, _ in keys})
        exact = {c: Decimal(0) for c in channel_names}
        for (channel, _), amount in money.items():
            exact[channel] += amount
        rounded = dict(
            zip(
                channel_names, round_to_total([exact[c] for c in channel_names], total), strict=True
            )
        )
        channels: dict[str, ChannelCredit] = {}
        campaigns: dict[tuple[str, str], ChannelCredit] = {}
        by_channel: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key in keys:
            by_channel[key[0]].append(key)
        for channel in channel_names:
            own = by_channel[channel]
            amounts = round_to_total([money.get(k, Decimal(0)) for k in own], rounded[channel])
            channel_conversions = Decimal(0)
            for key, amount in zip(own, amounts, strict=True):
                count = conversions.get(key, Decimal(0))
                campaigns[key] = ChannelCredit(credited=amount, conversions=count)
                channel_conversions += count
            channels[channel] = ChannelCredit(rounded[channel], channel_conversions)
        return Credit(
            model=model,
            total=total,
            channels=channels,
            campaigns=campaigns,
            conversions=Decimal(converting),
            explanations=explanations or {},
            pooled=pooled,
        )

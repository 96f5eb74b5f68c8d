"""The attribution benchmark runs end to end on a small draw (so it does not rot)."""

from __future__ import annotations

from attribution.touch.models import MODELS
from bench.attribution.generate import journeys
from bench.attribution.run import main


def test_the_generator_makes_realistic_journeys() -> None:
    drawn = journeys(4000, seed=3, channels=14)

    converting = [j for j in drawn if j.converted_at is not None]
    assert 0.015 < len(converting) / len(drawn) < 0.05
    assert {len(j.touches) for j in drawn} == set(range(1, 9))
    assert len({t.channel for j in drawn for t in j.touches}) == 14
    assert all(j.converted_at >= j.touches[-1].at for j in converting)


def test_the_benchmark_times_every_model(capsys) -> None:
    figures = main(["--journeys", "3000", "--seed", "2", "--channels", "20"])

    assert set(figures["seconds"]) == set(MODELS)
    assert figures["journeys"] == 3000
    assert "shapley" in capsys.readouterr().out

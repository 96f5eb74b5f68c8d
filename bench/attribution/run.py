"""Attribution benchmark: every model's credit over synthetic journeys, seconds per model.

    .venv/bin/python -m bench.attribution.run --journeys 200000 --channels 12 --seed 7

Prints one line per model (seconds of wall time and of CPU for ``credit()``, conversions and the total
credited, which always equals the converted value to the cent) and then every figure as JSON.
Target (issue 20): Markov and Shapley over 200,000 journeys in at most 10 s each. ``--channels``
goes up to 20: beyond 15, Shapley pools the rarest as ``other`` (its worst case, 2^15 subsets).
"""

from __future__ import annotations

import argparse
import json
import time

from attribution.touch.models import MODELS, credit
from bench.attribution.generate import journeys as generate


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=200_000)
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    journeys = generate(args.journeys, seed=args.seed, channels=args.channels)
    generated = time.perf_counter() - started
    converting = sum(1 for j in journeys if j.converted_at is not None)
    touches = sum(len(j.touches) for j in journeys)
    print(
        f"{len(journeys):,} journeys, {touches:,} touches, {converting:,} converting "
        f"({converting / len(journeys):.1%}), {args.channels} channels, generated in "
        f"{generated:.1f} s"
    )
    figures: dict = {"journeys": len(journeys), "touches": touches, "converting": converting}
    seconds, cpu = {}, {}
    for model in args.models:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = credit(journeys, model=model)
        seconds[model] = round(time.perf_counter() - started, 3)
        cpu[model] = round(time.process_time() - cpu_started, 3)
        credited = sum(c.credited for c in result.channels.values())
        assert credited == result.total, (model, credited, result.total)
        print(
            f"{model:16} {seconds[model]:7.2f} s ({cpu[model]:.2f} s CPU)  {len(result.channels):3} channels  "
            f"{len(result.campaigns):3} campaigns  total {result.total}"
        )
    figures["seconds"] = seconds
    figures["cpu_seconds"] = cpu
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()

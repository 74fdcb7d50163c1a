"""Tune every pattern conv of a model or MLIR module and store the results.

Layers with equal signatures are tuned once. Layers already in the database are skipped, and
a layer whose tuning was interrupted keeps its measurements (committed one by one), so running
the same command again resumes where it stopped. The time budget is shared out as it goes:
each layer gets what is left divided by the layers left, so a layer that converges early
leaves its time to the others.

Per layer: an evolutionary search (search.py) over real runs of generated code (measure.py),
then an interleaved re-measurement of the best few and the default schedule; the result is
the fastest of those that beats the default by ``min_gain`` in both halves of that
re-measurement, else the default (a smaller or inconsistent "gain" is noise, and the default
is the better-understood choice).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..codegen.schedule import Schedule
from ..tuning_db.database import TuningDB, TuningResult
from ..tuning_db.learned import learned_schedule
from ..tuning_db.space import ScheduleSpace
from .gpu_measure import GpuLayerBench
from .gpu_space import GpuScheduleSpace
from .layers import GPU_TARGET, TuneLayer, layers_from_module, layers_from_torch, unique_layers
from .measure import LayerBench
from .search import evolve

__all__ = [
    "LayerOutcome",
    "TuneOptions",
    "TuneSummary",
    "choose",
    "parse_budget",
    "tune_alone",
    "tune_layer",
    "tune_layers",
    "tune_mlir",
    "tune_torch",
]


@dataclass(frozen=True)
class TuneOptions:
    """How hard to tune.

    budget_s: wall-clock seconds for all layers together (``parse_budget("5m")``).
    clock: "cpu" (thread CPU time, robust on a loaded machine) or "wall".
    threads: the thread count the schedules are for (``CompileOptions.num_threads``). Above
        one, the filter groups per layer are searched too and timed by wall clock (CPU time
        of the calling thread would miss the others); results are stored for that count.
    repeats: samples per candidate during the search (median).
    rounds: interleaved rounds of the final re-measurement.
    finalists: best search points re-measured against the default.
    population: points kept per generation of the genetic search.
    min_gain: a schedule must beat the default by this much to replace it.
    retune: tune layers that already have a result (the new result replaces it).
    seed: random seed of the search.
    """

    budget_s: float = 300.0
    clock: str = "cpu"
    threads: int = 1
    repeats: int = 5
    rounds: int = 16
    finalists: int = 3
    population: int = 8
    min_gain: float = 0.03
    retune: bool = False
    seed: int = 0


@dataclass
class LayerOutcome:
    layer: TuneLayer
    status: str  # tuned, cached, skipped, no-budget
    result: TuningResult | None = None
    reason: str = ""
    measured: int = 0


@dataclass
class TuneSummary:
    outcomes: list[LayerOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def weighted_speedup(self) -> float:
        """Sum of default times over sum of tuned times, each layer times its count."""
        done = [o for o in self.outcomes if o.result is not None]
        default = sum(o.result.default_ms * o.layer.count for o in done)
        tuned = sum(o.result.ms * o.layer.count for o in done)
        return default / tuned if tuned else 1.0

    def geomean_speedup(self) -> float:
        ups = [o.result.speedup for o in self.outcomes if o.result is not None]
        return math.exp(sum(map(math.log, ups)) / len(ups)) if ups else 1.0


def parse_budget(text: str | float) -> float:
    """Seconds from '300', '300s', '5m', '1h', '1m30s'."""
    if isinstance(text, (int, float)):
        return float(text)
    s = text.strip().lower()
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    total, number = 0.0, ""
    for ch in s:
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total += float(number) * units[ch]
            number = ""
        else:
            raise ValueError(f"cannot read budget {text!r}: use e.g. 300, 90s, 5m, 1h")
    if number:
        total += float(number)
    if total <= 0:
        raise ValueError(f"budget must be positive, got {text!r}")
    return total


def tune_layer(
    layer: TuneLayer,
    db: TuningDB,
    budget_s: float,
    options: TuneOptions = TuneOptions(),
    on_progress: Callable[[int, float], None] | None = None,
) -> LayerOutcome:
    """Search one layer's schedule space within ``budget_s`` and store the result."""
    start = time.monotonic()
    space, bench, clock = _space_and_bench(layer, options)
    try:
        sig = layer.signature
        default, *heuristic = space.defaults()  # with the rules tuning taught it, then without
        seeds = [s for s in (default, *heuristic, learned_schedule(db, sig)) if s is not None]

        def cost(s: Schedule, bound: float | None) -> float | None:
            m = bench.measure(s, options.repeats, bound)
            db.add_measurement(sig, s, m.ms, m.status)
            return m.ms

        def progress(s, c, result) -> None:
            # Keep the finalists compiled for the re-measurement; free the rest.
            bench.retain([x for x, _ in result.ranking()[: options.finalists]] + [default])
            if on_progress is not None and math.isfinite(result.best_cost):
                on_progress(len(result.evaluated), result.best_cost)

        known = _rescaled(db, sig, bench, default, options.repeats)
        # Keep time for the final interleaved re-measurement (its compiles and rounds).
        reserve = max(3.0, 0.15 * budget_s)
        found = evolve(
            space,
            cost,
            seeds=seeds,
            known=known,
            population=options.population,
            budget_s=max(0.0, budget_s - reserve),
            seed=options.seed,
            on_evaluation=progress,
        )
        if not found.evaluated:
            return LayerOutcome(layer, "no-budget", reason="no time left to measure the default")
        # The default always competes in the final round: the search's own ranking rests on
        # fewer samples, taken at other moments.
        ranked = [s for s, _ in found.ranking()[: options.finalists]]
        finalists = list(dict.fromkeys([*ranked, default]))
        best, medians = choose(bench.compare(finalists, options.rounds), default, options.min_gain)
        result = TuningResult(
            sig,
            best,
            medians[best],
            medians[default],
            evaluations=len(found.evaluated),
            seconds=time.monotonic() - start,
            clock=clock,
            updated=time.time(),
        )
        db.put(result, keep_faster=not options.retune)
        return LayerOutcome(layer, "tuned", result, reason=found.stopped, measured=found.measured)
    finally:
        bench.close()


def tune_alone(
    layer: TuneLayer, budget_s: float, options: TuneOptions = TuneOptions()
) -> TuningResult:
    """Tunes one layer with a throwaway database (benchmarks that tune the layer they time)."""
    with tempfile.TemporaryDirectory(prefix="pattern-mlir-tune-") as directory:
        db = TuningDB(Path(directory) / "tuning.sqlite")
        try:
            outcome = tune_layer(layer, db, budget_s, replace(options, retune=True))
        finally:
            db.close()
    if outcome.result is None:
        raise RuntimeError(
            f"tuning {layer.signature.shape_text()} gave no result: {outcome.reason}"
        )
    return outcome.result


def _space_and_bench(layer: TuneLayer, options: TuneOptions):
    """(schedule space, bench, clock name) for the layer's target."""
    sig = layer.signature
    if sig.target == GPU_TARGET:
        return GpuScheduleSpace.of_layer(layer), GpuLayerBench(layer), "gpu"
    clock = options.clock if sig.threads == 1 else "wall"
    return ScheduleSpace.of(sig), LayerBench(layer, clock=clock, threads=sig.threads), clock


def choose(
    samples: dict[Schedule, list[float]], default: Schedule, min_gain: float
) -> tuple[Schedule, dict[Schedule, float]]:
    """(chosen schedule, time per schedule) from an interleaved re-measurement.

    A schedule replaces the default only if it is at least ``min_gain`` faster in the first half
    of the rounds and in the second half too: a gain that is real shows in both, a lucky phase
    of the machine in one at most (single medians of 7 rounds picked schedules that a later
    re-measurement found slower; measured: docs/design.md, section 10). Speed-ups are per half
    (the machine may drift between halves) and combined geometrically; a schedule's time is the
    default's median divided by its speed-up, so times and speed-ups agree.
    """
    half = len(samples[default]) // 2
    base = statistics.median(samples[default])
    if half == 0:
        return default, {s: statistics.median(v) for s, v in samples.items()}

    def gains(s: Schedule) -> tuple[float, float]:
        a, b = samples[s], samples[default]
        return tuple(
            statistics.median(y) / statistics.median(x)
            for x, y in ((a[:half], b[:half]), (a[half:], b[half:]))
        )

    speedup = {s: math.sqrt(math.prod(gains(s))) for s in samples}
    times = {s: base / speedup[s] for s in samples}
    winners = [s for s in samples if s != default and min(gains(s)) >= 1 + min_gain]
    best = max(winners, key=speedup.get) if winners else default
    return best, times


def _rescaled(db: TuningDB, sig, bench: LayerBench, default: Schedule, repeats: int) -> dict:
    """Costs of an interrupted run, scaled to today's machine by re-measuring the default.

    A shared virtual machine's speed drifts between runs (the same kernel's CPU time moved by
    tens of per cent between two runs an hour apart; measured: docs/design.md, section 10), so
    old costs are only comparable with new ones after scaling; the database gets the scaled
    costs too.
    """
    known = db.measurements(sig)
    old = known.get(default)
    if old is None:
        return known
    m = bench.measure(default, repeats)
    if m.ms is None:
        return known
    db.rescale_measurements(sig, m.ms / old)
    return db.measurements(sig)


def tune_layers(
    layers: list[TuneLayer],
    db: TuningDB,
    options: TuneOptions = TuneOptions(),
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> TuneSummary:
    """Tune each distinct layer (see the module docstring); a tqdm bar shows progress."""
    from tqdm import tqdm

    start = time.monotonic()
    if options.threads < 1:
        raise ValueError(f"threads must be >= 1, got {options.threads}")
    layers = unique_layers([_for_threads(layer, options.threads) for layer in layers])
    summary = TuneSummary()
    todo: list[TuneLayer] = []
    for layer in layers:
        why = layer.supported()
        cached = None if options.retune else db.get(layer.signature)
        if why:
            summary.outcomes.append(LayerOutcome(layer, "skipped", reason=why))
        elif cached is not None:
            summary.outcomes.append(LayerOutcome(layer, "cached", cached))
        else:
            todo.append(layer)
    bar = tqdm(
        total=len(layers),
        initial=len(layers) - len(todo),
        unit="layer",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        for i, layer in enumerate(todo):
            left = options.budget_s - (time.monotonic() - start)
            share = left / (len(todo) - i)
            bar.set_description(layer.signature.shape_text())
            if share < 2.0:
                summary.outcomes.append(LayerOutcome(layer, "no-budget", reason="budget spent"))
                bar.update(1)
                continue

            def on_progress(evaluated: int, best_ms: float) -> None:
                bar.set_postfix_str(f"{evaluated} schedules, best {best_ms:.3f} ms")

            outcome = tune_layer(layer, db, share, options, on_progress)
            summary.outcomes.append(outcome)
            if log is not None and outcome.result is not None:
                r = outcome.result
                log(
                    f"{layer.signature.shape_text()}: {r.default_ms:.3f} -> {r.ms:.3f} ms "
                    f"({r.speedup:.2f}x, {r.evaluations} schedules, {r.seconds:.0f} s)"
                )
            bar.update(1)
    finally:
        bar.close()
        summary.seconds = time.monotonic() - start
        order = {layer.signature.key(): i for i, layer in enumerate(layers)}
        summary.outcomes.sort(key=lambda o: order[o.layer.signature.key()])
    return summary


def _for_threads(layer: TuneLayer, threads: int) -> TuneLayer:
    """The layer with its signature keyed for ``threads`` (what the schedules are tuned for)."""
    return dataclasses.replace(
        layer, signature=dataclasses.replace(layer.signature, threads=threads)
    )


def tune_mlir(
    text: str, db: TuningDB, options: TuneOptions = TuneOptions(), target: str = "host", **kw
) -> TuneSummary:
    """Tune the pattern convs of MLIR text (linalg convs are raised first)."""
    from mlir import ir

    from ..passes.raise_conv import RaiseConv

    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        RaiseConv().apply(module.operation)
        layers = layers_from_module(module.operation, target)
    return tune_layers(layers, db, options, **kw)


def tune_torch(
    model,
    example_input,
    db: TuningDB,
    options: TuneOptions = TuneOptions(),
    target: str = "host",
    **kw,
) -> TuneSummary:
    """Tune the pattern 3x3 convs of a PyTorch model (eval mode, batch 1 input)."""
    return tune_layers(layers_from_torch(model, example_input, target), db, options, **kw)

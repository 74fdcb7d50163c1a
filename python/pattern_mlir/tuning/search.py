"""Evolutionary search over one layer's schedule space (PatDNN's genetic tuning).

Why evolutionary: the space is a product of 7 interacting genes (a taller register block needs
fewer column vectors, channel blocking competes with prefetching, unrolling pays only with some
blocks) with thousands of valid points, while each measurement costs a JIT compile (measured:
docs/design.md, section 10). A (mu + lambda) genetic algorithm keeps the best ``population``
points measured so far, breeds children by uniform crossover and mutation, and measures only
children not seen before. When a few generations bring no gain, a polishing step measures every
untried one-gene neighbour of the best point (a local optimum is then certain), and the search
ends when that finds nothing better, the budget is spent or the space is exhausted.

The cost function is passed in (``cost(schedule, bound)``): real runs of generated code in the
tuner, a synthetic function in the tests. ``bound`` is the best time so far, so the cost can
reject hopeless candidates after one sample.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..codegen.schedule import Schedule
from ..tuning_db.space import ScheduleSpace

__all__ = ["SearchResult", "evolve"]

# cost(schedule, bound) -> time (smaller is better), or None when the candidate failed.
Cost = Callable[[Schedule, float | None], float | None]


@dataclass
class SearchResult:
    best: Schedule | None
    best_cost: float
    evaluated: dict[Schedule, float | None] = field(default_factory=dict)
    measured: int = 0  # cost() calls made by this search (the rest came from ``known``)
    generations: int = 0
    stopped: str = ""  # why the search ended: converged, budget, evaluations, exhausted

    def ranking(self) -> list[tuple[Schedule, float]]:
        """Evaluated points with a cost, fastest first."""
        ok = [(s, c) for s, c in self.evaluated.items() if c is not None]
        return sorted(ok, key=lambda sc: sc[1])


class _Budget(Exception):
    pass


def evolve(
    space: ScheduleSpace,
    cost: Cost,
    *,
    seeds: list[Schedule] = (),
    known: dict[Schedule, float | None] | None = None,
    population: int = 8,
    patience: int = 2,
    min_gain: float = 0.01,
    budget_s: float = math.inf,
    max_evaluations: int | None = None,
    seed: int = 0,
    on_evaluation: Callable[[Schedule, float | None, SearchResult], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SearchResult:
    """Minimise ``cost`` over ``space``; ``known`` costs (an interrupted run's) are reused."""
    rng = random.Random(seed)
    deadline = clock() + budget_s
    result = SearchResult(None, math.inf)
    known = dict(known or {})

    def evaluate(s: Schedule) -> float | None:
        if s in result.evaluated:
            return result.evaluated[s]
        if s in known:
            c = known[s]
        else:
            if clock() >= deadline:
                result.stopped = "budget"
                raise _Budget
            if max_evaluations is not None and result.measured >= max_evaluations:
                result.stopped = "evaluations"
                raise _Budget
            bound = result.best_cost if math.isfinite(result.best_cost) else None
            c = cost(s, bound)
            result.measured += 1
        result.evaluated[s] = c
        if c is not None and c < result.best_cost:
            result.best, result.best_cost = s, c
        if on_evaluation is not None:
            on_evaluation(s, c, result)
        return c

    def parents() -> list[Schedule]:
        return [s for s, _ in result.ranking()[:population]]

    try:
        start = [space.canonical(s) for s in seeds]
        start = [s for s in dict.fromkeys(start) if s is not None]
        start += [s for s, c in sorted(known.items(), key=_order) if c is not None][:population]
        # The rest of the first generation: mostly mutants of the seeds (a measurement is too
        # dear to spend on uniformly random points), some random points for diversity.
        parents0 = start[:] or [space.default()]
        for _ in range(population * 20):
            if len(set(start)) >= population:
                break
            if rng.random() < 0.8:
                child = space.mutate(rng.choice(parents0), rng, fields=rng.choice((1, 1, 2)))
            else:
                child = space.random(rng)
            if child is not None:
                start.append(child)
        for s in dict.fromkeys(start):
            evaluate(s)

        stale = 0
        while True:
            result.generations += 1
            before = result.best_cost
            pool = parents()
            children: list[Schedule] = []
            for _ in range(population * 20):
                if len(children) >= population or not pool:
                    break
                a = _tournament(pool, result.evaluated, rng)
                if rng.random() < 0.7 and len(pool) > 1:
                    child = space.crossover(a, _tournament(pool, result.evaluated, rng), rng)
                    if child is not None and rng.random() < 0.5:
                        child = space.mutate(child, rng)
                else:
                    child = space.mutate(a, rng, fields=rng.choice((1, 1, 2)))
                if child is not None and child not in result.evaluated and child not in children:
                    children.append(child)
            for child in children:
                evaluate(child)
            improved = result.best_cost < before * (1 - min_gain)
            stale = 0 if improved else stale + 1
            if stale >= patience or not children:
                if not _polish(space, result, evaluate, min_gain):
                    result.stopped = "converged" if children else "exhausted"
                    break
                stale = 0
    except _Budget:
        pass
    return result


def _polish(space: ScheduleSpace, result: SearchResult, evaluate, min_gain: float) -> bool:
    """Hill-climb from the best point over one-gene neighbours; True if that gained.

    Climbing goes on only while a step gains more than ``min_gain``: smaller steps are within
    the noise of real measurements.
    """
    improved = False
    while result.best is not None:
        best, before = result.best, result.best_cost
        for n in space.neighbours(best):
            evaluate(n)
        if result.best == best or result.best_cost >= before * (1 - min_gain):
            return improved
        improved = True


def _tournament(pool: list[Schedule], costs: dict, rng: random.Random, k: int = 3) -> Schedule:
    picks = rng.sample(pool, k=min(k, len(pool)))
    return min(picks, key=lambda s: costs[s])


def _order(item):
    return math.inf if item[1] is None else item[1]

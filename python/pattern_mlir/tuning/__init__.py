"""Auto-tuning of pattern conv schedules, remembered in a crash-safe database.

    from pattern_mlir.tuning import TuningDB, TuneOptions, tune_torch, parse_budget
    with TuningDB("tuning.sqlite") as db:
        summary = tune_torch(model, x, db, TuneOptions(budget_s=parse_budget("5m")))

The pass ``pattern-apply-tuning{db=PATH}`` then writes each tuned schedule onto its conv.
Modules: signature (what keys a layer), layers (where layers come from), space (the schedule
space), measure (robust timing), search (the genetic search), database (SQLite), heuristics
(rules learned from tuning), tuner (a whole model with budget and resume).
"""

from .._registration import register_dialect

register_dialect()  # the package builds and reads pattern IR

from .database import TuningDB, TuningResult, default_db_path
from .heuristics import improved_default, learned_schedule
from .layers import TuneLayer, layer_from_arrays, layers_from_module, layers_from_torch
from .measure import LayerBench, Measurement
from .search import SearchResult, evolve
from .signature import LayerSignature, cpu_model
from .space import ScheduleSpace
from .tuner import (
    TuneOptions,
    TuneSummary,
    parse_budget,
    tune_alone,
    tune_layers,
    tune_mlir,
    tune_torch,
)

__all__ = [
    "LayerBench",
    "LayerSignature",
    "Measurement",
    "ScheduleSpace",
    "SearchResult",
    "TuneLayer",
    "TuneOptions",
    "TuneSummary",
    "TuningDB",
    "TuningResult",
    "cpu_model",
    "default_db_path",
    "evolve",
    "improved_default",
    "layer_from_arrays",
    "layers_from_module",
    "layers_from_torch",
    "learned_schedule",
    "parse_budget",
    "tune_alone",
    "tune_layers",
    "tune_mlir",
    "tune_torch",
]

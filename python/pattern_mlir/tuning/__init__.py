"""Auto-tuning of pattern conv schedules, remembered in a crash-safe database.

    from pattern_mlir.tuning import TuningDB, TuneOptions, tune_torch, parse_budget
    with TuningDB("tuning.sqlite") as db:
        summary = tune_torch(model, x, db, TuneOptions(budget_s=parse_budget("5m")))

The pass ``pattern-apply-tuning{db=PATH}`` then writes each tuned schedule onto its conv.
Modules: layers (where layers come from), measure (robust timing), search (the genetic search),
tuner (a whole model with budget and resume). The database, the signatures that key it, the
schedule space and the rules learned live in `tuning_db/`, which the compiler reads; they are
re-exported here for the tuner's users.
"""

from .._registration import register_dialect

register_dialect()  # the package builds and reads pattern IR

from ..tuning_db.database import TuningDB, TuningResult, default_db_path
from ..tuning_db.learned import improved_default, learned_schedule
from ..tuning_db.signature import LayerSignature, cpu_model
from ..tuning_db.space import ScheduleSpace
from .layers import TuneLayer, layer_from_arrays, layers_from_module, layers_from_torch
from .measure import LayerBench, Measurement
from .search import SearchResult, evolve
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

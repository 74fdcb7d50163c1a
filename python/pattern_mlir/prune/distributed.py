"""Data-parallel pruning under torchrun: what admm() and retrain() need to run on N ranks.

Each rank holds the whole model and trains on its own shard of the batches; DDP averages the
gradients, so the weights stay identical on every rank. The Z-step projection is deterministic,
but the ranks must not merely *probably* agree on which taps and kernels survive: rank 0's
projection is broadcast, so every rank's mask is rank 0's by construction. Everything here is a
no-op in a single process, so the training code has one path.

A run is distributed when torch.distributed is initialised with more than one rank, or when the
environment that torchrun sets up says WORLD_SIZE > 1 (then the process group is joined here, so
a script needs no change to run under torchrun). Failures of the group (a rank that died or hung,
ranks that disagree on the run, a launcher that started fewer processes than WORLD_SIZE) become
DistributedError with what to do, instead of a hang or a backend stack trace.
"""

from __future__ import annotations

import atexit
import datetime
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from .errors import DistributedError
from .train import LossFn, evaluate, evaluation_sums

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Ranks",
    "Shard",
    "current",
    "init",
    "model_fingerprint",
    "process_rank",
]

# How long a collective may wait for a peer before the run fails: long enough for rank 0 to save
# a large model while the others wait, short enough that a hung rank does not hold the rest for
# torch's default half hour.
DEFAULT_TIMEOUT_S = 600.0

T = TypeVar("T")

_LAUNCH_HINT = (
    "launch every rank with torchrun (torchrun --nproc_per_node=N script.py), which sets RANK, "
    "WORLD_SIZE, MASTER_ADDR and MASTER_PORT"
)


def _env_int(name: str) -> int | None:
    text = os.environ.get(name)
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise DistributedError(f"{name}={text!r} is not an integer; {_LAUNCH_HINT}") from None
    if value < 0:
        raise DistributedError(f"{name}={text!r} is negative; {_LAUNCH_HINT}")
    return value


def init(backend: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> Ranks:
    """Join the process group the environment (torchrun) describes; a no-op when already joined.

    backend: 'nccl' when CUDA is available, else 'gloo'. With NCCL each rank uses the GPU
    LOCAL_RANK names (move the model there: Ranks.device). timeout_s bounds both the wait for all
    ranks to arrive and every later collective.
    """
    if dist.is_initialized():
        return current()
    world = _env_int("WORLD_SIZE")
    if world is None:
        raise DistributedError(
            f"no process group and no WORLD_SIZE in the environment; {_LAUNCH_HINT}"
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(_env_int("LOCAL_RANK") or 0)
    where = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
    try:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    except (RuntimeError, ValueError) as e:
        raise DistributedError(
            f"rank {os.environ.get('RANK', '?')} could not join a group of WORLD_SIZE={world} "
            f"ranks at {where} within {timeout_s:g} s ({_first_line(e)}). Start exactly "
            f"WORLD_SIZE processes with the same MASTER_ADDR and MASTER_PORT; {_LAUNCH_HINT}"
        ) from e
    atexit.register(_leave)
    return current()


def _leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def current() -> Ranks:
    """This process's place in the run: the process group's, torchrun's (joined now), or 1 rank."""
    env_world = _env_int("WORLD_SIZE")
    if dist.is_available() and dist.is_initialized():
        ranks = Ranks(dist.get_rank(), dist.get_world_size())
        if env_world is not None and env_world != ranks.world:
            raise DistributedError(
                f"the environment says WORLD_SIZE={env_world} but the process group has "
                f"{ranks.world} ranks; pass the launcher's world size to init_process_group "
                f"(or let pattern_mlir.prune join the group: {_LAUNCH_HINT})"
            )
        return ranks
    if env_world is not None and env_world > 1:
        return init()
    return Ranks()


def process_rank() -> int:
    """This process's rank without joining anything: the group's, else torchrun's RANK, else 0."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return _env_int("RANK") or 0


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


# Gloo and NCCL report a lost peer as a bare RuntimeError; these are the phrases they use.
_PEER_FAILURE_MARKERS = (
    "gloo",
    "nccl",
    "connection reset",
    "connection closed",
    "broken pipe",
    "timed out",
    "socket timeout",
)


def _is_peer_failure(e: BaseException) -> bool:
    if isinstance(e, dist.DistError):
        return True
    text = str(e).lower()
    return isinstance(e, RuntimeError) and any(m in text for m in _PEER_FAILURE_MARKERS)


@dataclass(frozen=True)
class Ranks:
    """rank of world; every method is a no-op (or the identity) when world == 1."""

    rank: int = 0
    world: int = 1

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that prints progress and writes files."""
        return self.rank == 0

    @property
    def device(self) -> torch.device:
        """Where this rank's model belongs: its GPU under NCCL, else the CPU."""
        if self.distributed and dist.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Turn a lost peer during `what` into a DistributedError saying what to do."""
        try:
            yield
        except DistributedError:
            raise
        except Exception as e:
            if not (self.distributed and _is_peer_failure(e)):
                raise
            raise DistributedError(
                f"rank {self.rank} of {self.world} lost its peers during {what}: "
                f"{_first_line(e)}. Another rank died, was killed or stalled past the "
                "process-group timeout; its own log says why. This rank's model is left "
                "part-way through pruning: do not save it; fix the failing rank and start "
                "every rank again."
            ) from e

    def check_same(self, what: str, **fields) -> None:
        """Raise DistributedError on every rank unless all ranks passed equal `fields`.

        Ranks that disagree (other settings, another model, a different number of batches) would
        otherwise wait for each other's collectives until the timeout, or silently train
        different things.
        """
        if not self.distributed:
            return
        gathered: list = [None] * self.world
        dist.all_gather_object(gathered, fields)
        for r, other in enumerate(gathered):
            for key, value in gathered[0].items():
                if other.get(key) != value:
                    raise DistributedError(
                        f"{what}: the ranks disagree on {key}: {value!r} on rank 0, "
                        f"{other.get(key)!r} on rank {r}. Every rank must make the same call with "
                        "the same model and the same (unsharded) data; pattern_mlir.prune "
                        "shards the batches itself."
                    )

    def shard(self, data: Iterable) -> Iterable:
        """This rank's batches: `data` as is when a DistributedSampler already splits it."""
        if not self.distributed:
            return data
        if isinstance(getattr(data, "sampler", None), DistributedSampler):
            return _SamplerEpochs(data)
        try:
            n = len(data)  # type: ignore[arg-type]
        except TypeError:
            n = None
        if n is not None and n < self.world:
            raise DistributedError(
                f"the data has {n} batches per epoch, fewer than the {self.world} ranks, so some "
                "rank would train on nothing; use smaller batches or fewer ranks "
                "(--nproc_per_node)"
            )
        return Shard(data, self.rank, self.world)

    def wrap(self, model: nn.Module) -> nn.Module:
        """`model` in DDP (which first copies rank 0's weights and buffers to every rank)."""
        if not self.distributed:
            return model
        device = next(model.parameters()).device
        ids = [device] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def on_main(self, make: Callable[[], T]) -> T:
        """make() run on rank 0 only, its result sent to every rank (pickled)."""
        if not self.distributed:
            return make()
        box = [make() if self.main else None]
        dist.broadcast_object_list(box, src=0, device=self.device)
        return box[0]

    @torch.no_grad()
    def sync_state(self, model: nn.Module, buffers_only: bool = False) -> None:
        """Copy rank 0's buffers (BatchNorm statistics), and parameters unless buffers_only.

        DDP keeps parameters equal, but each rank's last forward updates its running statistics
        with its own batch.
        """
        if not self.distributed:
            return
        tensors = list(model.buffers())
        if not buffers_only:
            tensors += list(model.parameters())
        for t in tensors:
            dist.broadcast(t, src=0)

    def reduce_stats(self, stats: dict) -> dict:
        """run_epoch's loss / acc over all ranks' samples."""
        if not self.distributed:
            return stats
        acc = stats["acc"]
        n = stats["samples"]
        sums = torch.tensor(
            [stats["loss"] * n, (acc or 0.0) * n, n, float(acc is None)],
            dtype=torch.float64,
            device=self.device,
        )
        dist.all_reduce(sums)
        loss, hits, seen, no_acc = sums.tolist()
        acc = None if no_acc else hits / seen
        return {**stats, "loss": loss / seen, "acc": acc, "samples": int(seen)}

    def evaluate(self, model: nn.Module, data: Iterable, loss_fn: LossFn | None = None) -> dict:
        """evaluate() with each rank taking every world-th batch, summed over the ranks."""
        if not self.distributed:
            return evaluate(model, data, loss_fn)
        mine = (b for i, b in enumerate(data) if i % self.world == self.rank)
        loss, hits, seen = evaluation_sums(model, mine, loss_fn)
        sums = torch.tensor(
            [loss, hits or 0, seen, float(hits is None)], dtype=torch.float64, device=self.device
        )
        dist.all_reduce(sums)
        loss, hits, seen, no_acc = sums.tolist()
        if seen == 0:
            raise ValueError("evaluate: the data yielded no batch")
        return {"loss": loss / seen, "acc": None if no_acc else hits / seen, "samples": int(seen)}


def model_fingerprint(model: nn.Module) -> str:
    """Names, shapes and dtypes of the model's parameters and buffers, hashed (for check_same)."""
    h = hashlib.sha256()
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
    return h.hexdigest()[:16]


class Shard:
    """Batches rank, rank + world, rank + 2 world, ... of `data`, re-iterable.

    The last incomplete round is dropped, so every rank takes the same number of steps: DDP
    all-reduces every step, and a rank with one batch more would wait for its peers forever.
    Every rank reads the whole of `data` (cheap for in-memory batches; for an expensive loader,
    give it a DistributedSampler and it is used as is).
    """

    def __init__(self, data: Iterable, rank: int, world: int):
        self.data, self.rank, self.world = data, rank, world

    def __len__(self) -> int:
        return len(self.data) // self.world  # type: ignore[arg-type]

    def __iter__(self):
        mine = None
        for i, batch in enumerate(self.data):
            if i % self.world == self.rank:
                mine = batch
            if i % self.world == self.world - 1:
                yield mine


class _SamplerEpochs:
    """A DataLoader with a DistributedSampler, calling set_epoch so each epoch shuffles anew."""

    def __init__(self, loader):
        self.loader, self.epoch = loader, 0

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        self.loader.sampler.set_epoch(self.epoch)
        self.epoch += 1
        return iter(self.loader)

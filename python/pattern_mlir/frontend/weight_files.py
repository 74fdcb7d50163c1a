"""Named arrays in one raw file plus a JSON index: how the import child hands over weights.

numpy only, because the torch-mlir child imports it too and must not load the `mlir`
wheel (two MLIR copies in one process break; docs/design.md section 3).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["read_arrays", "resource_name", "scratch_directory", "write_arrays"]

_ALIGNMENT = 64  # every array starts on a cache line, so the views read back are aligned
_HANDLE = re.compile(r"^dense_resource<([^>]+)>")


def resource_name(attr) -> str | None:
    """The handle name of a `dense_resource` attribute (of either MLIR copy), else None."""
    match = _HANDLE.match(str(attr))
    return match.group(1) if match else None


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """`arrays` into `path`, their names, dtypes, shapes and offsets into `path`.json."""
    index = []
    with open(path, "wb") as out:
        for name, array in arrays.items():
            out.write(b"\0" * (-out.tell() % _ALIGNMENT))
            index.append(
                {
                    "name": name,
                    "dtype": array.dtype.str,
                    "shape": list(array.shape),
                    "offset": out.tell(),
                }
            )
            out.write(memoryview(np.ascontiguousarray(array)).cast("B"))
    Path(f"{path}.json").write_text(json.dumps(index))


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """What `write_arrays` wrote: read-only views of `path` mapped into memory (not read).

    Pages come in as they are touched, and the import child and its parent share them.
    The mapping outlives the file, so the caller may delete it at once.
    """
    entries = json.loads(Path(f"{path}.json").read_text())
    if not entries:
        return {}
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    arrays = {}
    for entry in entries:
        count = int(np.prod(entry["shape"], dtype=np.int64))
        view = np.frombuffer(
            raw, dtype=np.dtype(entry["dtype"]), count=count, offset=entry["offset"]
        )
        arrays[entry["name"]] = view.reshape(entry["shape"])
    return arrays


def scratch_directory(nbytes: int) -> str | None:
    """/dev/shm when it can hold `nbytes` with room to spare (memory-backed: arrays
    cross through it at memory speed), else the default temporary directory. Containers
    often mount a /dev/shm of 64 MB."""
    shm = "/dev/shm"
    if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
        return None
    return shm if shutil.disk_usage(shm).free > 2 * nbytes + (256 << 20) else None

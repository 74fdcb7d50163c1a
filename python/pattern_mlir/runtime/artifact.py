"""The directory `Executable.save` writes and `pattern_mlir.load` reads, and its checks.

``manifest.json`` names the format version, the signature (target, CPU, input and output
tensors), the build settings, and every file of the directory with its size and SHA-256.
Loading verifies all of it before the library is opened: a file that is missing, cut short or
edited, a manifest in another format or one whose signature differs from the one the library
carries (runtime/call_signature.py) is an `ArtifactError` naming the file. Without these
checks an edited input shape made the code read past its buffer, an edited output shape or an
empty output list crashed the process, and a truncated library raised SIGBUS.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .call_signature import Signature, SignatureFormatError, embedded_signature

__all__ = [
    "FORMAT_VERSION",
    "LIBRARY",
    "MANIFEST",
    "Artifact",
    "ArtifactError",
    "read_artifact",
    "write_manifest",
]

# 2: host saves hold a shared library (object code) instead of LLVM-dialect IR to re-JIT.
# 3: x86 saves name their x86-64 level; load() refuses a CPU without it.
# 4: checksums of every file; the library carries its signature; host.json folded in.
FORMAT_VERSION = 4
MANIFEST = "manifest.json"
LIBRARY = "libmodel.so"


class ArtifactError(ValueError):
    """A saved model that cannot be run as it is; `path` names the offending file."""

    def __init__(self, path: Path, message: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class Artifact:
    """A verified saved model: its signature, build settings and stage IR file names."""

    directory: Path
    signature: Signature
    opt_level: int
    threads: int
    stages: tuple[str, ...]

    @property
    def library(self) -> Path:
        return self.directory / LIBRARY


def _sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def write_manifest(
    directory: Path,
    signature: Signature,
    *,
    opt_level: int,
    threads: int,
    stages: list[str],
    version: str,
) -> None:
    """Writes the manifest over the files already in `directory` (library and stage IR)."""
    names = [LIBRARY, *(f"{s}.mlir" for s in stages)]
    files = {
        n: {"bytes": (directory / n).stat().st_size, "sha256": _sha256(directory / n)}
        for n in names
    }
    manifest = {
        "format": FORMAT_VERSION,
        "pattern_mlir": version,
        **signature.to_json(),
        "opt_level": opt_level,
        "threads": threads,
        "stages": list(stages),
        "files": files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1))


def _read_manifest(path: Path) -> dict:
    if not path.is_file():
        raise ArtifactError(path, "no manifest: not a directory written by Executable.save")
    try:
        manifest = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(path, f"not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(path, "the manifest is not a JSON object")
    if manifest.get("format") != FORMAT_VERSION:
        raise ArtifactError(
            path,
            f"format {manifest.get('format')!r}; this pattern-mlir reads format "
            f"{FORMAT_VERSION} (compile and save the model again)",
        )
    return manifest


def _check_files(path: Path, manifest: dict) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or LIBRARY not in files:
        raise ArtifactError(path, f"'files' must list {LIBRARY} with its checksum")
    for name, entry in files.items():
        file = path.parent / name
        if not isinstance(name, str) or Path(name).name != name:
            raise ArtifactError(path, f"file name {name!r} is not a plain name in the directory")
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or type(entry.get("bytes")) is not int
        ):
            raise ArtifactError(path, f"entry of {name} needs 'bytes' and 'sha256'")
        if not file.is_file():
            raise ArtifactError(file, "missing")
        size = file.stat().st_size
        if size != entry["bytes"]:
            raise ArtifactError(
                file,
                f"{size} bytes, the manifest recorded {entry['bytes']} (cut short or replaced)",
            )
        if _sha256(file) != entry["sha256"]:
            raise ArtifactError(
                file, "SHA-256 differs from the manifest's: the file was changed after saving"
            )


def read_artifact(directory: str | Path) -> Artifact:
    """Reads and verifies the saved model in `directory`; raises `ArtifactError`."""
    directory = Path(directory)
    path = directory / MANIFEST
    manifest = _read_manifest(path)
    try:
        signature = Signature.from_json(manifest)
    except SignatureFormatError as error:
        raise ArtifactError(path, str(error)) from None
    for key in ("opt_level", "threads"):
        if type(manifest.get(key)) is not int or manifest[key] < 0:
            raise ArtifactError(path, f"{key!r} must be an integer >= 0, got {manifest.get(key)!r}")
    stages = manifest.get("stages")
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        raise ArtifactError(path, f"'stages' must be a list of names, got {stages!r}")
    _check_files(path, manifest)
    missing = [s for s in stages if f"{s}.mlir" not in manifest["files"]]
    if missing:
        raise ArtifactError(path, f"stage IR without a checksum: {', '.join(missing)}")
    library = directory / LIBRARY
    carried = embedded_signature(library)
    if carried is None:
        raise ArtifactError(
            library, "carries no pattern-mlir signature: not a library pattern-mlir built"
        )
    if carried != signature:
        raise ArtifactError(
            path,
            f"the manifest describes {_describe(signature)}, but {LIBRARY} was built "
            f"for {_describe(carried)}",
        )
    return Artifact(directory, signature, manifest["opt_level"], manifest["threads"], tuple(stages))


def _describe(signature: Signature) -> str:
    def shapes(specs):
        return ", ".join("x".join(map(str, s.shape)) or "scalar" for s in specs) or "none"

    return (
        f"target {signature.target} ({signature.cpu}), inputs [{shapes(signature.inputs)}], "
        f"outputs [{shapes(signature.outputs)}]"
    )

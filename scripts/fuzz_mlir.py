#!/usr/bin/env python3
"""Mutation fuzzer of `pattern-opt` over the lit inputs of the pattern dialect and passes.

Every chunk of test/Dialect/**/*.mlir and test/Transforms/*.mlir (split on `// -----`) is a
seed, and so is each valid one printed in the generic op form. Mutant i is a seed with one to four token-level mutations drawn from a generator
seeded by (--seed, i), so any mutant can be rebuilt from its number alone. Each mutant runs
through `pattern-opt` alone (parse, verify, print) and, when that accepts it, through every
configuration in CONFIGS (each Python pass, and the pack-then-lower chain); a mutant the
parser rejects is rejected by every pass the same way, so it runs through one Python pass
only, which covers the Python driver's parse path. Each run is classified:

  ok                exit 0
  diagnostic        exit != 0 with an MLIR-style `error:` on stderr
  crash             killed by a signal or an assertion (the process died, no clean report)
  hang              still running at --timeout
  oom               ran out of the --memory-gb address space (MemoryError, bad_alloc)
  python-traceback  a Python exception escaped a pass (a traceback, or the driver's last-resort
                    `internal error` diagnostic)
  no-diagnostic     exit != 0 without any `error:` line

Runs are forked from worker processes that imported pattern_mlir once (a fresh interpreter
per run would cost ten times more) and call the console script's main() exactly as the
`pattern-opt` script does; `--exec` spawns the real script instead. Every distinct failure
signature is replayed once with the real script before it is reported. Reproducers go to
--out (outside the repository); the `## Mutated MLIR inputs` section of docs/fuzz.md is
rewritten with the command, the counts and one reproducer per signature.

  .venv/bin/python scripts/fuzz_mlir.py --mutants 20000 -j 2 --out /tmp/fuzz
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import multiprocessing
import os
import random
import re
import resource
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPLIT = "// -----"
SEED_DIRS = ("test/Dialect", "test/Transforms")
SECTION = "## Mutated MLIR inputs"

# (name, pattern-opt flags). "parse" runs the native binary: parse, verify, print.
CONFIGS: list[tuple[str, list[str]]] = [
    ("parse", []),
    ("raise-conv", ["--pattern-raise-conv"]),
    ("raise-blocks", ["--pattern-raise-blocks"]),
    ("reorder-filters", ["--pattern-reorder-filters"]),
    ("pack-fkw", ["--pattern-pack-fkw"]),
    ("lower-to-vector", ["--pattern-lower-to-vector"]),
    ("lower-to-vector-neon", ["--pattern-lower-to-vector=target=arm64-neon threads=2"]),
    (
        "pack-lower",
        ["--pattern-reorder-filters", "--pattern-pack-fkw", "--pattern-lower-to-vector"],
    ),
    ("vectorize-dense", ["--pattern-vectorize-dense"]),
    ("lower-to-gpu", ["--pattern-lower-to-gpu"]),
    ("copy-to-linalg", ["--pattern-copy-to-linalg"]),
    ("distinct-results", ["--pattern-distinct-results"]),
    ("expand-math", ["--pattern-expand-math"]),
    ("inline-resources", ["--pattern-inline-resources"]),
    ("widen-bool-tensors", ["--pattern-widen-bool-tensors"]),
]
# A mutant the parser rejects only runs through this one (the Python driver's parse path).
REJECTED_CONFIG = "raise-conv"
OUTCOMES = ("ok", "diagnostic", "crash", "hang", "oom", "python-traceback", "no-diagnostic")
FAILURES = ("crash", "hang", "oom", "python-traceback", "no-diagnostic")


# --------------------------------------------------------------------------------------------
# Seeds and tokens
# --------------------------------------------------------------------------------------------


def load_seeds(root: Path = ROOT, generic: bool = True) -> list[tuple[str, str]]:
    """(name, text) of every chunk of the seed files, comment lines dropped (mutating
    comments finds nothing); with `generic`, also each chunk the parser accepts in the
    generic op form, whose attribute and property syntax the custom forms never reach."""
    seeds = []
    for directory in SEED_DIRS:
        for path in sorted((root / directory).rglob("*.mlir")):
            for index, chunk in enumerate(path.read_text().split(SPLIT)):
                lines = [line for line in chunk.splitlines() if not line.lstrip().startswith("//")]
                text = "\n".join(lines).strip()
                if text:
                    seeds.append((f"{path.relative_to(root)}#{index}", text + "\n"))
    if generic:
        seeds += _generic_forms(seeds)
    return seeds


def _generic_forms(seeds: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The seeds the parser accepts, printed in the generic op form (one run of the binary
    for all of them; one run each if any is rejected)."""
    from pattern_mlir.tools.pattern_opt import native_binary

    def generic(texts: list[str]) -> list[str] | None:
        printed = subprocess.run(
            [str(native_binary()), "-", "--split-input-file", "--mlir-print-op-generic"],
            input=f"\n{SPLIT}\n".join(texts),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return printed.stdout.split(SPLIT) if printed.returncode == 0 else None

    valid = [(name, text) for name, text in seeds if "invalid" not in name]
    forms = generic([text for _, text in valid])
    if forms is None or len(forms) != len(valid):
        forms = [(generic([text]) or [""])[0] for _, text in valid]
    return [
        (f"{name}(generic)", form.strip() + "\n")
        for (name, _), form in zip(valid, forms)
        if form.strip()
    ]


_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\\n]|\\.)*")
      | (?P<name>[%@^#!][\w.$-]*)
      | (?P<float>-?\d+\.\d*(?:[eE][+-]?\d+)?|0x[0-9a-fA-F]+)
      | (?P<int>-?\d+)
      | (?P<ident>[A-Za-z_][\w.$]*)
      | (?P<arrow>->)
      | (?P<punct>\S)""",
    re.VERBOSE,
)
_ELEMENT_TYPES = ("f32", "f16", "bf16", "f64", "i1", "i8", "i32", "i64", "index", "complex<f32>")
_BRACKETS = "[]<>(){}"
_INTERESTING = (
    0,
    1,
    -1,
    2,
    3,
    4,
    7,
    8,
    9,
    15,
    16,
    17,
    31,
    32,
    63,
    64,
    65,
    255,
    256,
    1023,
    4096,
    65536,
    2**24,
    2**31 - 1,
    2**31,
    -(2**31),
    2**32,
    2**32 + 1,
    2**53,
    2**62,
    2**63 - 1,
    2**63,
    -(2**63),
    2**64,
    10**30,
)
_FLOATS = (
    "0.0",
    "-0.0",
    "1.0e+39",
    "-1.0e+39",
    "0x7FC00000",
    "0x7F800000",
    "0xFF800000",
    "1.0e-45",
    "3.4028235e+38",
    "nan",
    "inf",
)


@dataclass(frozen=True)
class Token:
    kind: str
    start: int
    end: int
    text: str


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        tokens.append(Token(kind, match.start(), match.end(), match.group()))
    return tokens


def shape_dims(text: str) -> list[tuple[int, int]]:
    """Spans of the static dimensions of shaped types (`tensor<1x2x?xf32>`, `3x3` kernels)."""
    spans = []
    for match in re.finditer(r"(?<![\w$%@#.])((?:(?:\d+|\?)x)+)(?=[a-z?\d])", text):
        offset = match.start(1)
        for part in re.finditer(r"\d+", match.group(1)):
            spans.append((offset + part.start(), offset + part.end()))
        # The last dim of `3x3` is followed by a digit, not an element type.
        tail = re.match(r"\d+(?![\w.])", text[match.end(1) :])
        if tail:
            spans.append((match.end(1), match.end(1) + tail.end()))
    return spans


def _replace(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _interesting_int(rng: random.Random, old: int | None) -> int:
    if old is not None and rng.random() < 0.35:
        return rng.choice((old + 1, old - 1, 2 * old, old // 2, -old, old * 1000))
    return rng.choice(_INTERESTING)


# --------------------------------------------------------------------------------------------
# Mutations: each takes (text, rng, corpus tokens) and returns the new text or None
# --------------------------------------------------------------------------------------------


def m_int(text, rng, pool):
    spans = [(t.start, t.end) for t in tokenize(text) if t.kind == "int"] + shape_dims(text)
    if not spans:
        return None
    start, end = rng.choice(spans)
    return _replace(text, start, end, str(_interesting_int(rng, int(text[start:end]))))


def m_float(text, rng, pool):
    tokens = [t for t in tokenize(text) if t.kind == "float"]
    if not tokens:
        return None
    token = rng.choice(tokens)
    return _replace(text, token.start, token.end, rng.choice(_FLOATS))


def m_delete_token(text, rng, pool):
    tokens = tokenize(text)
    if not tokens:
        return None
    token = rng.choice(tokens)
    return _replace(text, token.start, token.end, "")


def m_duplicate_token(text, rng, pool):
    tokens = tokenize(text)
    if not tokens:
        return None
    token = rng.choice(tokens)
    return _replace(text, token.start, token.end, f"{token.text} {token.text}")


def m_bracket(text, rng, pool):
    brackets = [
        t for t in tokenize(text) if t.kind in ("punct", "arrow") and t.text in _BRACKETS + ",:="
    ]
    if brackets and rng.random() < 0.6:
        token = rng.choice(brackets)
        return _replace(text, token.start, token.end, "")
    tokens = tokenize(text)
    if not tokens:
        return None
    position = rng.choice(tokens).start
    return _replace(text, position, position, rng.choice(_BRACKETS + ","))


def _list_spans(text: str) -> list[tuple[int, int]]:
    """Contents of innermost [...] lists and array<...: ...> attributes."""
    spans = [(m.start(1), m.end(1)) for m in re.finditer(r"\[([^\[\]]*)\]", text)]
    spans += [(m.start(1), m.end(1)) for m in re.finditer(r"array<\w+:([^<>]*)>", text)]
    return spans


def m_list_entry(text, rng, pool):
    spans = _list_spans(text)
    if not spans:
        return None
    start, end = rng.choice(spans)
    items = [item.strip() for item in text[start:end].split(",")] if text[start:end].strip() else []
    action = rng.choice(("delete", "duplicate", "swap", "append", "clear"))
    if action == "delete" and items:
        items.pop(rng.randrange(len(items)))
    elif action == "duplicate" and items:
        i = rng.randrange(len(items))
        items.insert(i, items[i])
    elif action == "swap" and len(items) > 1:
        i, j = rng.sample(range(len(items)), 2)
        items[i], items[j] = items[j], items[i]
    elif action == "append":
        items.append(
            str(_interesting_int(rng, None)) if rng.random() < 0.5 or not items else items[-1]
        )
    else:
        items = []
    body = ", ".join(items)
    return _replace(text, start, end, f" {body}" if text[start - 1 : start] == ":" else body)


# Custom-syntax keywords of the pattern ops and the group that follows each.
_KEYWORDS = (
    "library",
    "assignment",
    "strides",
    "padding",
    "dilations",
    "activation",
    "filter_order",
    "offsets",
    "channels",
)


def _group_end(text: str, start: int) -> int:
    """End of the bracketed group (or single token) that begins at or after `start`."""
    i = start
    while i < len(text) and text[i].isspace():
        i += 1
    if i < len(text) and text[i] == "#":
        while i < len(text) and (text[i].isalnum() or text[i] in "#._"):
            i += 1
    if i >= len(text) or text[i] not in "[<({":
        match = re.compile(r"\S+").match(text, i)
        return match.end() if match else i
    pairs = {"[": "]", "<": ">", "(": ")", "{": "}"}
    stack = []
    for j in range(i, len(text)):
        if text[j] in pairs:
            stack.append(pairs[text[j]])
        elif stack and text[j] == stack[-1]:
            stack.pop()
            if not stack:
                return j + 1
    return len(text)


def m_attr_entry(text, rng, pool):
    """Deletes, duplicates or moves a `keyword group` of the custom syntax or a `name = value`
    entry of an attribute dictionary."""
    candidates = [
        (m.start(), _group_end(text, m.end()))
        for m in re.finditer(rf"\b(?:{'|'.join(_KEYWORDS)})\b", text)
    ]
    candidates += [
        (m.start(), _group_end(text, m.end())) for m in re.finditer(r"[\w.]+\s*=\s*", text)
    ]
    if not candidates:
        return None
    start, end = rng.choice(candidates)
    entry = text[start:end]
    action = rng.random()
    if action < 0.6:
        return _replace(text, start, end, "")
    if action < 0.8:
        return _replace(text, start, end, f"{entry} {entry}")
    target = rng.choice(candidates)[0]
    removed = _replace(text, start, end, "")
    target = target if target < start else max(start, target - len(entry))
    return _replace(removed, target, target, f"{entry} ")


def m_element_type(text, rng, pool):
    matches = list(re.finditer(r"(?<![\w%@#])(f16|bf16|f32|f64|i1|i8|i32|i64|index)(?![\w])", text))
    if not matches:
        return None
    match = rng.choice(matches)
    return _replace(text, match.start(), match.end(), rng.choice(_ELEMENT_TYPES))


def m_shaped_type(text, rng, pool):
    matches = list(re.finditer(r"\b(tensor|memref|vector)<([^<>]*)>", text))
    if not matches:
        return None
    match = rng.choice(matches)
    kind, body = match.group(1), match.group(2)
    dims = body.split("x")
    action = rng.randrange(6)
    if action == 0:
        new = f"{kind}<*x{dims[-1]}>"
    elif action == 1 and len(dims) > 1:
        dims[rng.randrange(len(dims) - 1)] = "?"
        new = f"{kind}<{'x'.join(dims)}>"
    elif action == 2 and len(dims) > 1:
        dims.pop(rng.randrange(len(dims) - 1))
        new = f"{kind}<{'x'.join(dims)}>"
    elif action == 3:
        dims.insert(rng.randrange(len(dims)), str(rng.choice((1, 2, 3))))
        new = f"{kind}<{'x'.join(dims)}>"
    elif action == 4:
        new = f"{rng.choice(('tensor', 'memref', 'vector'))}<{body}>"
    else:
        other = [m.group() for m in re.finditer(r"\b(?:tensor|memref)<[^<>]*>", text)]
        if not other:
            return None
        new = rng.choice(other)
    return _replace(text, match.start(), match.end(), new)


def m_truncate(text, rng, pool):
    if len(text) < 2:
        return None
    return text[: rng.randrange(1, len(text))]


def _dims(text: str) -> list[tuple[int, int]]:
    return shape_dims(text)


def m_shape_consistent(text, rng, pool):
    """Changes every occurrence of one dimension value in the shapes, so operand and result
    types keep agreeing with each other (attributes sized from them then may not)."""
    spans = _dims(text)
    if not spans:
        return None
    old = text[slice(*rng.choice(spans))]
    new = str(
        rng.choice(
            (
                1,
                2,
                3,
                4,
                5,
                7,
                8,
                16,
                17,
                32,
                64,
                100,
                1024,
                4096,
                65536,
                2**31 - 1,
                2**40,
                int(old) + 1,
                2 * int(old),
            )
        )
    )
    for start, end in sorted(spans, reverse=True):
        if text[start:end] == old:
            text = _replace(text, start, end, new)
    return text


def m_shape_inconsistent(text, rng, pool):
    spans = _dims(text)
    if not spans:
        return None
    start, end = rng.choice(spans)
    return _replace(text, start, end, str(_interesting_int(rng, int(text[start:end]))))


def m_splice(text, rng, pool):
    """Replaces a token by one of the same kind from any seed (an op name, keyword, enum
    case, attribute alias, type...)."""
    tokens = [t for t in tokenize(text) if t.kind in pool]
    if not tokens:
        return None
    token = rng.choice(tokens)
    return _replace(text, token.start, token.end, rng.choice(pool[token.kind]))


def m_swap_tokens(text, rng, pool):
    tokens = tokenize(text)
    if len(tokens) < 2:
        return None
    kind = rng.choice(tokens).kind
    same = [t for t in tokens if t.kind == kind]
    if len(same) < 2:
        return None
    a, b = sorted(rng.sample(same, 2), key=lambda t: t.start)
    return text[: a.start] + b.text + text[a.end : b.start] + a.text + text[b.end :]


def m_line(text, rng, pool):
    lines = text.splitlines(keepends=True)
    if len(lines) < 2:
        return None
    i = rng.randrange(len(lines))
    if rng.random() < 0.5:
        del lines[i]
    else:
        lines.insert(i, lines[rng.randrange(len(lines))])
    return "".join(lines)


MUTATIONS = {
    "int": (m_int, 6),
    "float": (m_float, 3),
    "delete-token": (m_delete_token, 2),
    "duplicate-token": (m_duplicate_token, 1),
    "bracket": (m_bracket, 2),
    "list-entry": (m_list_entry, 4),
    "attr-entry": (m_attr_entry, 3),
    "element-type": (m_element_type, 1),
    "shaped-type": (m_shaped_type, 2),
    "truncate": (m_truncate, 1),
    "shape-consistent": (m_shape_consistent, 5),
    "shape-inconsistent": (m_shape_inconsistent, 2),
    "splice": (m_splice, 2),
    "swap-tokens": (m_swap_tokens, 1),
    "line": (m_line, 1),
}


def token_pool(seeds: list[tuple[str, str]]) -> dict[str, list[str]]:
    pool: dict[str, set[str]] = collections.defaultdict(set)
    for _, text in seeds:
        for token in tokenize(text):
            if token.kind in ("ident", "name", "float"):
                pool[token.kind].add(token.text)
    return {kind: sorted(values) for kind, values in pool.items()}


@dataclass
class Mutant:
    index: int
    seed: str
    mutations: list[str]
    text: str


def make_mutant(index: int, campaign_seed: int, seeds, pool) -> Mutant:
    """Mutant `index` of the campaign: deterministic in (campaign_seed, index)."""
    rng = random.Random(f"{campaign_seed}:{index}")
    names = list(MUTATIONS)
    weights = [MUTATIONS[name][1] for name in names]
    # Seeds the verifier rejects by design (invalid.mlir) reach no pass: drawn less often.
    seed_weights = [1 if "invalid" in name else 3 for name, _ in seeds]
    while True:
        seed_name, text = rng.choices(seeds, seed_weights)[0]
        original, applied = text, []
        for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3, 4))):
            name = rng.choices(names, weights)[0]
            mutated = MUTATIONS[name][0](text, rng, pool)
            if mutated is not None and mutated != text:
                text, applied = mutated, [*applied, name]
        if text != original:
            return Mutant(index, seed_name, applied, text)


# --------------------------------------------------------------------------------------------
# Running and classifying
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    config: str
    outcome: str
    signature: str
    returncode: int | None
    seconds: float
    stderr: str = ""


def _limit_memory(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


_ASSERTION = re.compile(r"Assertion `(.*)' failed")
_PATHS = re.compile(r"(/[^\s:'\"]*/)([\w.+-]+\.(?:py|cpp|h|inc|td))")


def _normalise(line: str) -> str:
    line = _PATHS.sub(r"\2", line)
    line = re.sub(r"0x[0-9a-f]{6,}", "0x...", line)
    line = re.sub(r"\b\d{6,}\b", "N", line)  # sizes that vary between mutants
    line = re.sub(r"loc\([^)]*\)", "loc(...)", line)
    return line.strip()[:240]


_FRAME = re.compile(r"\s*#\d+ 0x[0-9a-f]+ ([^\s(][^(]*)\(")
_RUNTIME_FRAMES = (
    "llvm::sys::",
    "SignalHandler",
    "raise",
    "abort",
    "__assert",
    "_nl_load_domain",
    "__pthread_kill",
    "llvm::report_fatal_error",
    "llvm::cast",
    "llvm::dyn_cast",
)


def _first_frame(lines: list[str]) -> str:
    """The innermost named function of an LLVM stack dump that is not the crash machinery."""
    for line in lines:
        frame = _FRAME.match(line)
        if frame and not frame.group(1).startswith(_RUNTIME_FRAMES):
            return frame.group(1).strip()
    return ""


def classify(returncode: int | None, stderr: str, timed_out: bool) -> tuple[str, str]:
    """(outcome, signature) of one run."""
    lines = stderr.splitlines()
    oom = re.search(
        r"MemoryError|std::bad_alloc|out of memory|Unable to allocate|"
        r"Cannot allocate memory",
        stderr,
    )
    if timed_out:
        return "hang", "timeout"
    bug = re.search(r"error: internal error in (.*?): (\w+)", stderr)
    if "Traceback (most recent call last)" in stderr or bug:
        exception = next(
            (line for line in reversed(lines) if line and not line.startswith(" ")), ""
        )
        frames = [line.strip() for line in lines if line.strip().startswith('File "')]
        # The innermost frame of pattern-mlir names the code at fault better than numpy's.
        ours = [frame for frame in frames if "pattern_mlir" in frame]
        where = _normalise((ours or frames)[-1]) if frames else ""
        kind = "oom" if oom else "python-traceback"
        exception = bug.group(2) if bug else exception.split(":", 1)[0]
        return kind, f"{_normalise(exception)} at {where}"
    if returncode is not None and (
        returncode < 0 or returncode >= 128 or _ASSERTION.search(stderr)
    ):
        if oom:
            return "oom", _normalise(oom.group())
        assertion = _ASSERTION.search(stderr)
        if assertion:
            # A generic assertion (cast<>, SmallVector indexing) fails in many places.
            where = _first_frame(lines)
            return (
                "crash",
                f"assertion `{_normalise(assertion.group(1))}`{' in ' + where if where else ''}",
            )
        fatal = next(
            (
                line
                for line in lines
                if line.startswith(("LLVM ERROR", "terminate called", "Fatal Python error"))
            ),
            None,
        )
        if fatal:
            return "crash", _normalise(fatal)
        number = -returncode if returncode < 0 else returncode - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"exit {returncode}"
        return "crash", f"{name} {_first_frame(lines)}".strip()
    if returncode == 0:
        return "ok", ""
    if re.search(r"(^|\s)error:", stderr):
        return "diagnostic", ""
    return "no-diagnostic", _normalise(
        next((line for line in lines if line.strip()), "(no output)")
    )


def _wait(pid: int, timeout: float) -> tuple[int | None, bool]:
    """(return code as subprocess reports it, timed out) of a forked child."""
    fd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, True
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), False
    finally:
        os.close(fd)


def _clip(text: str, head: int = 2000, tail: int = 4000) -> str:
    return text if len(text) <= head + tail else f"{text[:head]}\n[...]\n{text[-tail:]}"


def _head_and_tail(data: bytes) -> str:
    """What a run printed, cut to 64 KiB: an assertion comes first, a traceback last."""
    if len(data) > 65536:
        data = data[:16384] + b"\n[...]\n" + data[-49152:]
    return data.decode(errors="replace")


def run_forked(argv: list[str], timeout: float, memory_bytes: int) -> tuple[int | None, str, bool]:
    """Runs the pattern-opt console script's main(argv) in a forked child."""
    with tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.setsid()
                _limit_memory(memory_bytes)
                os.environ["PATTERN_MLIR_TRACEBACK"] = "1"  # the frame names the signature
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)
                os.dup2(err.fileno(), 2)
                # The parent's sys streams may not write to fds 1 and 2 (pytest captures them).
                sys.stdin = open(0, closefd=False)  # noqa: SIM115
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                from pattern_mlir.tools.pattern_opt import main

                sys.argv = ["pattern-opt", *argv]
                code = main(argv)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            except BaseException:  # noqa: BLE001 (as the console script would: print it, exit 1)
                traceback.print_exc()
                code = 1
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code or 0)
        returncode, timed_out = _wait(pid, timeout)
        err.seek(0)
        return returncode, _head_and_tail(err.read()), timed_out


def run_exec(argv: list[str], timeout: float, memory_bytes: int) -> tuple[int | None, str, bool]:
    """Runs the real `pattern-opt` console script."""
    script = Path(sys.executable).parent / "pattern-opt"
    env = {**os.environ, "PATTERN_MLIR_TRACEBACK": "1"}
    process = subprocess.Popen(
        [str(script), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: _limit_memory(memory_bytes),
    )
    try:
        _, err = process.communicate(timeout=timeout)
        return process.returncode, _head_and_tail(err), False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, "", True


@dataclass
class Settings:
    seed: int
    timeout: float
    memory_bytes: int
    exec_mode: bool
    out: Path
    configs: list[str] = field(default_factory=lambda: [name for name, _ in CONFIGS])


def signature_id(outcome: str, signature: str) -> str:
    return f"{outcome}-{hashlib.sha1(signature.encode()).hexdigest()[:10]}"


def run_mutant(mutant: Mutant, settings: Settings) -> list[Outcome]:
    flags = dict(CONFIGS)
    runner = run_exec if settings.exec_mode else run_forked
    results = []
    with tempfile.TemporaryDirectory(prefix="fuzz-mlir-") as tmp:
        path = Path(tmp) / f"mutant-{mutant.index}.mlir"
        path.write_text(mutant.text)
        configs = settings.configs
        for name in configs:
            if (
                results
                and results[0].config == "parse"
                and results[0].outcome == "diagnostic"
                and name != REJECTED_CONFIG
            ):
                continue
            start = time.monotonic()
            returncode, stderr, timed_out = runner(
                [str(path), *flags[name]], settings.timeout, settings.memory_bytes
            )
            outcome, signature = classify(returncode, stderr, timed_out)
            results.append(
                Outcome(
                    name,
                    outcome,
                    signature,
                    returncode,
                    time.monotonic() - start,
                    _clip(stderr) if outcome in FAILURES else "",
                )
            )
    for result in results:
        if result.outcome in FAILURES:
            save_reproducer(mutant, result, settings.out)
    return results


def save_reproducer(mutant: Mutant, result: Outcome, out: Path) -> None:
    """Keeps up to three reproducers per signature: the mutant, the command, what it printed."""
    directory = out / signature_id(result.outcome, result.signature)
    directory.mkdir(parents=True, exist_ok=True)
    if len(list(directory.glob("*.mlir"))) >= 3:
        return
    stem = directory / f"mutant-{mutant.index}-{result.config}"
    stem.with_suffix(".mlir").write_text(mutant.text)
    command = shlex.join(
        ["pattern-opt", str(stem.with_suffix(".mlir")), *dict(CONFIGS)[result.config]]
    )
    stem.with_suffix(".txt").write_text(
        f"{command}\n# outcome: {result.outcome}\n# signature: {result.signature}\n"
        f"# seed: {mutant.seed}, mutations: {', '.join(mutant.mutations)}\n\n{result.stderr}"
    )


# --------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------

_STATE: dict = {}


def _init_worker(
    settings: Settings, seeds: list[tuple[str, str]], pool_worker: bool = True
) -> None:
    if pool_worker:  # the parent handles ^C and terminates the pool
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Imported once here so that every forked run starts with them loaded.
    from pattern_mlir import register_dialect

    register_dialect()
    import pattern_mlir.passes  # noqa: F401
    import pattern_mlir.tools.pattern_opt  # noqa: F401

    _STATE.update(settings=settings, seeds=seeds, pool=token_pool(seeds))


def _work(index: int) -> tuple[dict, list[Outcome]]:
    settings = _STATE["settings"]
    mutant = make_mutant(index, settings.seed, _STATE["seeds"], _STATE["pool"])
    results = run_mutant(mutant, settings)
    return {
        "index": index,
        "seed": mutant.seed,
        "mutations": mutant.mutations,
        "text": mutant.text if any(r.outcome in FAILURES for r in results) else "",
    }, results


@dataclass
class Summary:
    mutants: int = 0
    runs: collections.Counter = field(default_factory=collections.Counter)
    parse: collections.Counter = field(default_factory=collections.Counter)
    per_config: dict = field(default_factory=lambda: collections.defaultdict(collections.Counter))
    # (outcome, signature) -> {"count", "configs", "first": (index, config), "text", "stderr"}
    failures: dict = field(default_factory=dict)
    seconds: float = 0.0
    run_seconds: float = 0.0

    def add(self, info: dict, results: list[Outcome]) -> None:
        self.mutants += 1
        for result in results:
            self.runs[result.outcome] += 1
            self.run_seconds += result.seconds
            self.per_config[result.config][result.outcome] += 1
            if result.config == "parse":
                self.parse[result.outcome] += 1
            if result.outcome not in FAILURES:
                continue
            key = (result.outcome, result.signature)
            entry = self.failures.setdefault(key, {"count": 0, "configs": set(), "first": None})
            entry["count"] += 1
            entry["configs"].add(result.config)
            if entry["first"] is None or info["index"] < entry["first"][0]:
                entry.update(
                    first=(info["index"], result.config),
                    text=info["text"],
                    stderr=result.stderr,
                    seed=info["seed"],
                    mutations=info["mutations"],
                )


def _journal_line(info: dict, results: list[Outcome]) -> str:
    return json.dumps({"info": info, "results": [vars(r) for r in results]}) + "\n"


def _read_journal(path: Path, summary: Summary) -> set[int]:
    """Adds the mutants a previous run of the same campaign recorded; returns their numbers."""
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line cut short when that run was killed
                continue
            summary.add(entry["info"], [Outcome(**r) for r in entry["results"]])
            done.add(entry["info"]["index"])
    return done


def campaign(
    settings: Settings,
    mutants: int,
    jobs: int,
    start: int = 0,
    progress: bool = False,
    journal: Path | None = None,
) -> Summary:
    """Runs mutants start .. start + mutants - 1. With a `journal`, every mutant's outcomes
    are appended to it as they come, and mutants it already holds are not run again: a
    campaign that was stopped resumes where it stopped."""
    summary = Summary()
    began = time.monotonic()
    seeds = load_seeds()
    done = _read_journal(journal, summary) if journal is not None else set()
    indices = [i for i in range(start, start + mutants) if i not in done]
    mutants = len(indices)
    if jobs <= 1:
        _init_worker(settings, seeds, pool_worker=False)
        stream = map(_work, indices)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(jobs, _init_worker, (settings, seeds))
        stream = pool.imap_unordered(_work, indices, chunksize=4)
    log = journal.open("a") if journal is not None else None
    try:
        for done, (info, results) in enumerate(stream, 1):
            summary.add(info, results)
            if log is not None:
                log.write(_journal_line(info, results))
                log.flush()
            if progress and (done % 200 == 0 or done == mutants):
                failed = sum(summary.runs[o] for o in FAILURES)
                print(
                    f"[{time.monotonic() - began:7.0f} s] {done}/{mutants} mutants, "
                    f"{sum(summary.runs.values())} runs, {failed} failures, "
                    f"{len(summary.failures)} signatures",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        if log is not None:
            log.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    summary.seconds += time.monotonic() - began
    return summary


def confirm(summary: Summary, settings: Settings) -> dict:
    """Replays each signature's first reproducer with the real pattern-opt script:
    (outcome, signature) -> the outcome it gave there."""
    confirmed = {}
    with tempfile.TemporaryDirectory(prefix="fuzz-mlir-") as tmp:
        for key, entry in summary.failures.items():
            path = Path(tmp) / "repro.mlir"
            path.write_text(entry["text"])
            returncode, stderr, timed_out = run_exec(
                [str(path), *dict(CONFIGS)[entry["first"][1]]],
                settings.timeout,
                settings.memory_bytes,
            )
            confirmed[key] = classify(returncode, stderr, timed_out)[0]
    return confirmed


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def render_section(summary: Summary, command: str, confirmed: dict) -> str:
    total_runs = sum(summary.runs.values())
    lines = [
        SECTION,
        "",
        (
            "`scripts/fuzz_mlir.py` mutates the lit inputs of the dialect and the passes "
            "(test/Dialect, test/Transforms, split on `// -----`, each valid one also in the "
            "generic op form) at the token level (integers "
            "to 0, -1, 2^31 - 1, 2^63 and other edge values, deleted or duplicated tokens, "
            "brackets, list elements and attribute entries, swapped element and shaped types, "
            "truncations, shapes changed consistently and inconsistently, tokens spliced in from "
            "other inputs) and runs each mutant through `pattern-opt` alone and, when the parser "
            "accepts it, through every Python pass and the reorder-pack-lower chain, each run in "
            "its own process under a time and an address-space limit. A mutant the parser rejects "
            f"runs through `--pattern-{REJECTED_CONFIG}` only (the Python driver's parse path)."
        ),
        "",
        "```sh",
        command,
        "```",
        "",
        (
            f"{summary.mutants} mutants, {total_runs} runs; the runs took "
            f"{summary.run_seconds / 60:.0f} min in all (worker processes run them in parallel)."
        ),
        "",
        "| outcome | runs | of which `pattern-opt` alone |",
        "|---|---:|---:|",
    ]
    for outcome in OUTCOMES:
        lines.append(f"| {outcome} | {summary.runs[outcome]} | {summary.parse[outcome]} |")
    lines += [
        "",
        "Runs per configuration:",
        "",
        "| configuration | " + " | ".join(OUTCOMES) + " |",
        "|---|" + "---:|" * len(OUTCOMES),
    ]
    for name, flags in CONFIGS:
        counts = summary.per_config.get(name)
        if counts:
            label = f"`{' '.join(flags)}`" if flags else "(parse, verify, print)"
            lines.append(f"| {label} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
    lines += ["", "### Failure signatures", ""]
    if not summary.failures:
        lines.append(
            "None: no crash, hang, out-of-memory, escaped Python exception or silent failure."
        )
    for (outcome, signature), entry in sorted(
        summary.failures.items(), key=lambda item: (item[0][0], -item[1]["count"])
    ):
        index, config = entry["first"]
        replay = confirmed.get((outcome, signature), "not replayed")
        lines += [
            f"#### {outcome}: {signature or '(no message)'}",
            "",
            (
                f"{entry['count']} runs ({', '.join(sorted(entry['configs']))}); first: mutant "
                f"{index} of {entry['seed']} ({', '.join(entry['mutations'])}); replayed with the "
                f"`pattern-opt` script: {replay}."
            ),
            "",
            "```sh",
            shlex.join(["pattern-opt", "repro.mlir", *dict(CONFIGS)[config]]),
            "```",
            "",
            "```mlir",
            entry["text"].rstrip()[:3000],
            "```",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def write_section(doc: Path, section: str) -> None:
    """Replaces the `## Mutated MLIR inputs` section of `doc` (up to the next level-2
    heading), leaving every other section as it is."""
    text = (
        doc.read_text()
        if doc.exists()
        else (
            "# Fuzzing\n\nInputs a user might bring, generated to find what aborts, hangs or "
            "exhausts the compiler instead of reporting an error.\n\n"
        )
    )
    lines = text.splitlines(keepends=True)
    begin = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if begin is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (i for i in range(begin + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        tail = "".join(lines[end:])
        text = "".join(lines[:begin]) + section + ("\n" + tail if tail else "")
    doc.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mutants", type=int, default=1000)
    parser.add_argument("--start", type=int, default=0, help="first mutant number")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address space per run")
    parser.add_argument("--out", type=Path, required=True, help="reproducer directory")
    parser.add_argument(
        "--configs", help="comma-separated subset of: " + ", ".join(name for name, _ in CONFIGS)
    )
    parser.add_argument(
        "--exec",
        dest="exec_mode",
        action="store_true",
        help="spawn the pattern-opt script for every run instead of forking",
    )
    parser.add_argument(
        "--doc", type=Path, help="rewrite this file's mutation section (docs/fuzz.md)"
    )
    parser.add_argument("--json", type=Path, help="write the summary as JSON here")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="journal outcomes in --out and skip the mutants it already holds",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    configs = [name for name, _ in CONFIGS]
    if args.configs:
        configs = args.configs.split(",")
        unknown = set(configs) - set(dict(CONFIGS))
        if unknown:
            parser.error(f"unknown configurations {sorted(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        args.seed,
        args.timeout,
        int(args.memory_gb * 2**30),
        args.exec_mode,
        args.out.resolve(),
        configs,
    )
    journal = args.out / f"journal-seed{args.seed}.jsonl" if args.resume else None
    summary = campaign(
        settings, args.mutants, args.jobs, args.start, progress=not args.quiet, journal=journal
    )
    confirmed = confirm(summary, settings)
    shown = [a for a in (argv if argv is not None else sys.argv[1:])]
    command = shlex.join([".venv/bin/python", "scripts/fuzz_mlir.py", *shown])
    section = render_section(summary, command, confirmed)
    print(section)
    if args.doc:
        write_section(args.doc, section)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mutants": summary.mutants,
                    "runs": dict(summary.runs),
                    "parse": dict(summary.parse),
                    "seconds": summary.seconds,
                    "failures": [
                        {
                            "outcome": o,
                            "signature": s,
                            "count": e["count"],
                            "configs": sorted(e["configs"]),
                            "mutant": e["first"][0],
                            "config": e["first"][1],
                        }
                        for (o, s), e in summary.failures.items()
                    ],
                },
                indent=1,
            )
        )
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())

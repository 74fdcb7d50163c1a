"""Differential fuzzing of pattern_mlir.compile against torch on random models.

Each seed builds a random small model (pattern_mlir.testing.random_models), projects its 3x3
convs onto patterns for about half the seeds, compiles it for the host (and for one seed in
`--arm64-every` also for arm64-neon, run under qemu), runs it on two random inputs and compares
every output with torch. Cases run in worker processes, one case at a time each (`-j` workers),
so torch, torch-mlir and the compiler load once per worker; a case that kills its worker is
recorded as a crash and the next case gets a fresh worker, one past `--timeout` is a hang.
The workers import a copy of the committed package (`bench/snapshot.py`, beside the results),
so edits to the working tree during a campaign change nothing it runs.

Outcomes: ok, mismatch (relative error over 1e-4 on an output, or a NaN/inf where torch is
finite), ill_conditioned (over 1e-4 from torch in float32, but torch's own float32 result is
as far from the float64 one: the model amplifies rounding, so neither answer is wrong),
compile_error (CompileError), exception (any other exception from compile() or the executable),
crash, hang.

    scripts/fuzz_models.py --seeds 200 -j 1            # seeds 0..199, appends to the results
    scripts/fuzz_models.py --case 17 --target host     # one case, verbose: reproduce a finding
    scripts/fuzz_models.py --report-only               # rewrite docs/fuzz.md from the results

Results go to out/fuzz/random_models.jsonl (one line per case; a rerun skips cases already
there), and the `## Random models` section of docs/fuzz.md is rewritten from them at the end;
the rest of that file is left as it is.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import json
import os
import queue
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "out" / "fuzz" / "random_models.jsonl"
REPORT = ROOT / "docs" / "fuzz.md"
SECTION = "## Random models"
TOLERANCE = 1e-4
FAILURES = ("mismatch", "crash", "hang", "exception", "compile_error")
OUTCOMES = ("ok", "ill_conditioned", *FAILURES)


# ----- one case (runs in a worker process) ---------------------------------------------------
def projection_of(seed: int) -> tuple[int, float] | None:
    """(patterns, connectivity) for seeds whose 3x3 convs are pattern-projected, else None."""
    r = random.Random(seed * 7919 + 17)
    if r.random() < 0.5:
        return None
    return r.choice((2, 4, 8)), r.choice((1.0, 2.0, 3.6))


def _tuple(value):
    return value if isinstance(value, tuple) else (value,)


def run_case(seed: int, target: str, max_blocks: int, timeout: float, verbose: bool) -> dict:
    """The record of one case; an exception other than CompileError is an `exception` outcome
    naming the step (prune, compile, run) it came from."""
    record = {"seed": seed, "target": target}
    try:
        return _run_case(record, seed, target, max_blocks, timeout, verbose)
    except Exception as error:  # noqa: BLE001 - every escape is a finding
        import traceback

        if verbose:
            traceback.print_exc()
        text = f"{type(error).__name__}: {error}"
        record.update(
            outcome="exception", detail=_first_line(text), message=_clip(traceback.format_exc())
        )
        return record


def _run_case(
    record: dict, seed: int, target: str, max_blocks: int, timeout: float, verbose: bool
) -> dict:
    import copy

    import pattern_mlir
    import torch
    from pattern_mlir import prune
    from pattern_mlir.testing import random_case, relative_error

    torch.set_num_threads(1)
    record["stage"] = "generate"
    case = random_case(seed, max_blocks=max_blocks)
    record.update(description=case.description, families=list(case.families), stage="prune")
    projection = projection_of(seed)
    if projection and prune.eligible_convs(case.model):
        spec = prune.project(
            case.model,
            num_patterns=projection[0],
            connectivity=projection[1],
            rules=prune.PruneRules(connectivity_min_in_channels=1),
        )
        record["projected"] = [projection[0], projection[1], len(spec.layers)]
    if verbose:
        print(f"seed {seed}: {case.description}\nprojection: {record.get('projected')}", flush=True)
    options = pattern_mlir.CompileOptions(num_threads=1, timeout_s=timeout, progress=verbose)
    start = time.perf_counter()
    record["stage"] = "compile"
    try:
        exe = pattern_mlir.compile(case.model, case.inputs, target=target, options=options)
    except pattern_mlir.CompileError as error:
        record["seconds"] = round(time.perf_counter() - start, 1)
        timed_out = "did not finish within its time limit" in error.message
        record.update(
            outcome="hang" if timed_out else "compile_error",
            stage=error.stage,
            detail=_first_line(error.message),
            message=_clip(str(error)),
        )
        return record
    record["seconds"] = round(time.perf_counter() - start, 1)
    record["stage"] = "run"
    errors, reference, wrong_inputs = [], [], None
    for inputs in (case.inputs, case.random_inputs(seed + 1_000_003)):
        with torch.no_grad():
            expected = _tuple(case.model(*inputs))
        got = _tuple(exe(*inputs))
        if len(got) != len(expected):
            errors.append([float("inf")])
            continue
        errors.append([relative_error(g, e) for g, e in zip(got, expected)])
        if max(errors[-1]) > TOLERANCE:  # how far torch itself is from exact arithmetic
            wrong_inputs = wrong_inputs or inputs
            with torch.no_grad():
                exact = _tuple(copy.deepcopy(case.model).double()(*(x.double() for x in inputs)))
            reference.append(
                [
                    (relative_error(e, x), relative_error(g, x))
                    for g, e, x in zip(got, expected, exact)
                ]
            )
    worst = max(max(e) for e in errors)
    record["max_error"] = worst
    if worst <= TOLERANCE:
        record["outcome"] = "ok"
    elif all(
        torch_err > TOLERANCE / 10 and ours <= 10 * torch_err
        for pairs in reference
        for torch_err, ours in pairs
        if ours > TOLERANCE
    ):
        record["outcome"] = "ill_conditioned"
        record["reference"] = reference
    else:
        record["outcome"] = "mismatch"
        record["reference"] = reference
        record["detail"] = "outputs " + ", ".join(
            f"{i}: {e:.2g}"
            for i, e in enumerate(errors[0] if max(errors[0]) > TOLERANCE else errors[1])
        )
        record["first_wrong"] = first_wrong_block(case, wrong_inputs, target, options)
    record["errors"] = errors
    return record


def first_wrong_block(case, inputs, target: str, options) -> str:
    """The description of the block whose result is the first to differ from torch, found by
    compiling the model again with every computed value as a result (fusion may then differ,
    so the answer can be that nothing differs)."""
    import pattern_mlir
    import torch
    from pattern_mlir.testing import relative_error
    from pattern_mlir.testing.random_models import RandomModel

    model = case.model
    owner = [k for k, (_, count) in enumerate(model.wiring) for _ in range(count or 1)]
    first = len(case.inputs)
    probe = RandomModel(model.ops, model.wiring, range(first, first + len(owner))).eval()
    try:
        exe = pattern_mlir.compile(probe, inputs, target=target, options=options)
    except pattern_mlir.CompileError as error:
        return f"(the probe with every value as a result failed: {_first_line(error.message)})"
    with torch.no_grad():
        expected = _tuple(probe(*inputs))
    blocks = case.description.split("; ")[1:]  # after the inputs, one entry per block
    for value, (got, want) in enumerate(zip(_tuple(exe(*inputs)), expected)):
        if relative_error(got, want) > TOLERANCE:
            return blocks[owner[value]]
    return "(every value right when all are results)"


def _first_line(message: str) -> str:
    """The line that says what went wrong: the first MLIR error (with the torch op and module
    class its location names) when there is one, else the first line."""
    for form in (
        r'loc\("([\w.]+) in [^"]*?(?: \((\w+)\))?"\S*\)\)?: error: (.*)',
        r'error: "([\w.]+) in [^"]*?(?: \((\w+)\))?"(?:\("[^"]*":\d+:\d+\))?: (.*)',
    ):
        match = re.search(form, message)
        if match:
            where = match[1] if match[2] in (None, "Op") else f"{match[2]} {match[1]}"
            return f"{where}: {match[3].strip()}"
    match = re.search(r"error: (.*)", message)
    if match:
        return match[1].strip()
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _clip(text: str, keep: int = 1500) -> str:
    return text if len(text) <= 2 * keep else f"{text[:keep]}\n...\n{text[-keep:]}"


def _detail(record: dict) -> str:
    if record["outcome"] == "compile_error" and record.get("message"):  # as _first_line is now
        return _first_line(re.sub(r"^stage '[^']*' failed: ", "", record["message"]))
    return record.get("detail", "")


def signature(record: dict) -> str:
    """What groups failures: outcome, stage and the first line with numbers, names and
    locations taken out."""
    detail = re.sub(r"loc\(.*?\):\s*", "", _detail(record))
    detail = re.sub(r"'[^']*\.(mlir|py)'|/[\w./-]+", "<path>", detail)
    detail = re.sub(r"%[\w#]+", "%v", detail)
    detail = re.sub(r"(?<![A-Za-z])\d+", "N", detail)
    if record["outcome"] == "mismatch":  # grouped by the kind of block that goes wrong first
        block = record.get("first_wrong", "")
        kind = re.match(r"[\w,]+=([\w]+)", block)
        detail = f"first wrong block: {kind[1]}" if kind else block or "wrong values"
    return f"{record['outcome']} | {record.get('stage', '-')} | {detail[:160]}"


# ----- the campaign ----------------------------------------------------------------------------
class _CaseWorker:
    """A process that runs cases one after another (`--serve`), with its own TMPDIR: torch,
    torch-mlir and the compiler load once per worker instead of once per case. The compiler
    isolates its stages and the import itself; a case that still kills the worker, or does not
    answer in time, is recorded as a crash or a hang and the next case gets a fresh worker."""

    def __init__(self, args) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="fuzz-worker-"))
        self.stderr = tempfile.TemporaryFile(dir=self.scratch)  # noqa: SIM115 - open while the worker lives
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            "--max-blocks",
            str(args.max_blocks),
            "--timeout",
            str(args.timeout),
        ]
        env = dict(os.environ, TMPDIR=str(self.scratch), PYTHONWARNINGS="ignore")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put("")  # end of output: the worker exited

    def run(self, seed: int, target: str, seconds: float) -> tuple[dict, bool]:
        """(the case's record, whether the worker can take the next case)."""
        start = self.stderr.seek(0, 2)
        try:
            self.process.stdin.write(f"{seed} {target}\n")
            self.process.stdin.flush()
            line = self.answers.get(timeout=seconds)
        except queue.Empty:
            return {"outcome": "hang", "detail": f"no answer within {seconds:g} s"}, False
        except OSError:
            line = ""
        if line:
            for name in os.listdir(self.scratch):  # what the case left (reproducers, builds)
                if not name.startswith("tmp"):
                    shutil.rmtree(self.scratch / name, ignore_errors=True)
            return json.loads(line), True
        self.process.wait()
        self.stderr.seek(start)
        err = self.stderr.read().decode(errors="replace")
        tail = [line for line in err.splitlines() if line.strip()][-1:] or [""]
        code = self.process.returncode
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        record = {"outcome": "crash", "detail": f"{how}: {tail[0][:300]}", "message": _clip(err)}
        return record, False

    def close(self) -> None:
        # the worker and whatever it left running (a stage worker, the import process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.stderr.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


_workers = threading.local()
_all_workers: list[_CaseWorker] = []


def _run_in_worker(seed: int, target: str, args) -> dict:
    """One case in this thread's worker process (a fresh one after a crash or a hang)."""
    worker = getattr(_workers, "worker", None)
    if worker is None:
        worker = _workers.worker = _CaseWorker(args)
        _all_workers.append(worker)
    start = time.perf_counter()
    record, usable = worker.run(seed, target, args.timeout + 120)
    if not usable:
        worker.close()
        _workers.worker = None
    record.setdefault("seed", seed)
    record.setdefault("target", target)
    record["wall_seconds"] = round(time.perf_counter() - start, 1)
    if "description" not in record:
        from pattern_mlir.testing import random_case  # the crashed worker never said

        record["description"] = random_case(seed, max_blocks=args.max_blocks).description
    return record


def serve(args) -> None:
    """Runs the cases named on stdin ("seed target" per line), one JSON record per line on
    the original stdout; anything else written to stdout (also by native code) goes to
    stderr."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        seed, target = line.split()
        record = run_case(int(seed), target, args.max_blocks, args.timeout, False)
        answers.write(json.dumps(record) + "\n")
        answers.flush()


def load_results(path: Path) -> tuple[list[dict], list[dict]]:
    """(records, the commands that wrote them); a case run again counts once, as it ran last."""
    records, meta = {}, []
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                if "command" in item:
                    meta.append(item)
                else:
                    records[item["seed"], item["target"]] = item
    return list(records.values()), meta


def campaign(args) -> None:
    path = Path(args.results)
    path.parent.mkdir(parents=True, exist_ok=True)
    records, _ = load_results(path)
    done = {(r["seed"], r["target"]) for r in records if r["outcome"] not in args.rerun}
    jobs = []
    for seed in range(args.start, args.start + args.seeds):
        for target in ["host"] + (
            ["arm64-neon"] if args.arm64_every and seed % args.arm64_every == 0 else []
        ):
            if (seed, target) not in done:
                jobs.append((seed, target))
    from bench.machine import git_commit  # scripts/ is on sys.path: this script's folder
    from bench.snapshot import activate, make_snapshot

    # The workers import the committed package, not the working tree, which may change
    # while a campaign of hours runs; the results then name exactly what ran.
    activate(make_snapshot(path.parent)[0])
    lock = threading.Lock()
    with path.open("a") as results:
        results.write(
            json.dumps(
                {
                    "command": _command(),
                    "started": time.strftime("%Y-%m-%d %H:%M"),
                    "commit": git_commit(),
                }
            )
            + "\n"
        )
        results.flush()
        counts = collections.Counter()
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(_run_in_worker, s, t, args): (s, t) for s, t in jobs}
            for future in concurrent.futures.as_completed(futures):
                record = future.result()
                with lock:
                    results.write(json.dumps(record) + "\n")
                    results.flush()
                    counts[record["outcome"]] += 1
                    note = "" if record["outcome"] == "ok" else f"  {signature(record)}"
                    print(
                        f"[{sum(counts.values())}/{len(jobs)}] seed {record['seed']} "
                        f"{record['target']}: {record['outcome']} ({record['wall_seconds']} s){note}",
                        flush=True,
                    )
        for worker in _all_workers:
            worker.close()
    write_report(path, Path(args.report))


def _command() -> str:
    return " ".join(["scripts/fuzz_models.py", *map(shlex.quote, sys.argv[1:])])


# ----- the report ------------------------------------------------------------------------------
def cpu_description() -> str:
    """CPU model and the vector ISA extensions of this host, from /proc/cpuinfo."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    fields = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    isa = [
        f
        for f in (
            "sse4_2",
            "avx",
            "avx2",
            "fma",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512dq",
            "avx512_vnni",
            "avx512_bf16",
        )
        if f in flags
    ]
    model = fields.get("model name", "unknown CPU")
    family = f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}"
    cores = os.cpu_count()
    return (
        f"{model} ({fields.get('vendor_id', '?')} {family}), {cores} cores; x86-64 {' '.join(isa)}"
    )


def write_report(path: Path, report: Path) -> None:
    records, meta = load_results(path)
    section = _section(records, meta)
    text = report.read_text() if report.exists() else "# Fuzzing\n\n"
    start = (
        text.find(f"\n{SECTION}\n") + 1
        if f"\n{SECTION}\n" in text
        else (0 if text.startswith(f"{SECTION}\n") else -1)
    )
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text)
    print(f"wrote {report}")


def _section(records: list[dict], meta: list[dict]) -> str:
    seeds = {r["seed"] for r in records}
    by_target = collections.defaultdict(collections.Counter)
    for r in records:
        by_target[r["target"]][r["outcome"]] += 1
    targets = sorted(by_target, key=lambda t: t != "host")
    lines = [
        SECTION,
        "",
        (
            "Random small models (`pattern_mlir.testing.random_models`: convs of every shape incl. "
            "pattern-projected 3x3, transposed convs, activations, norms, pools, resampling, pads, "
            "softmax, reductions, reshaping, broadcasting arithmetic, linear/matmul, attention, "
            "LSTM/GRU; several inputs and outputs) compiled and compared with torch on two random "
            f"inputs each (relative error <= {TOLERANCE:g} per output). Cases run in worker "
            "processes, so a crash is recorded, not fatal; about half the seeds have their 3x3 convs "
            "projected onto patterns. `ill_conditioned`: off by more than the tolerance, but torch's "
            "own float32 result is as far from float64 (the model amplifies rounding)."
        ),
        "",
    ]
    for m in meta:
        lines.append(f"- `{m['command']}` (started {m['started']} at commit {m['commit']})")
    lines += [
        "",
        f"Host: {cpu_description()}.",
        "",
        f"**{len(seeds)} random models** ({len(records)} compiles: "
        + ", ".join(f"{sum(by_target[t].values())} {t}" for t in targets)
        + ").",
        "",
        "| outcome | " + " | ".join(targets) + " |",
        "|---|" + "---:|" * len(targets),
    ]
    for outcome in OUTCOMES:
        lines.append(
            f"| {outcome} | " + " | ".join(str(by_target[t][outcome]) for t in targets) + " |"
        )
    total = collections.Counter(r["outcome"] for r in records)
    met = len(seeds) >= 5000 and not (total["crash"] or total["hang"] or total["mismatch"])
    lines += [
        "",
        (
            "The target is 0 crashes, 0 hangs and 0 mismatches over at least 5,000 random "
            f"models: {'met' if met else 'not met'} ({len(seeds)} models, {total['crash']} "
            f"crashes, {total['hang']} hangs, {total['mismatch']} mismatches)."
        ),
    ]
    groups = collections.defaultdict(list)
    for r in records:
        if r["outcome"] in FAILURES or r["outcome"] == "ill_conditioned":
            groups[signature(r)].append(r)
    order = {
        o: i
        for i, o in enumerate(
            ("mismatch", "crash", "hang", "exception", "compile_error", "ill_conditioned")
        )
    }
    lines += ["", "### Distinct failures", ""]
    if not groups:
        lines.append("None.")
    for sig, group in sorted(
        groups.items(), key=lambda kv: (order[kv[1][0]["outcome"]], -len(kv[1]))
    ):
        first = min(group, key=lambda r: len(r["description"]))
        seeds_text = ", ".join(
            f"{r['seed']}{'' if r['target'] == 'host' else ' (arm64)'}"
            for r in sorted(group, key=lambda r: (r["seed"], r["target"] != "host"))[:12]
        )
        lines += [
            f"- **{sig}** ({len(group)} cases; seeds {seeds_text}{' ...' if len(group) > 12 else ''})",
            f"  - reproduce: `scripts/fuzz_models.py --case {first['seed']} --target {first['target']}`"
            + (f"; projected {first['projected']}" if first.get("projected") else ""),
            f"  - model: `{first['description']}`",
        ]
        if _detail(first):
            lines.append(f"  - first line: `{_detail(first)[:300]}`")
        if first.get("first_wrong"):
            lines.append(f"  - first wrong block: `{first['first_wrong']}`")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="cases run at once")
    parser.add_argument(
        "--arm64-every",
        type=int,
        default=10,
        help="seeds divisible by this also compile for arm64-neon (0: never)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one compile may take")
    parser.add_argument("--max-blocks", type=int, default=6, help="most random blocks per model")
    parser.add_argument("--results", default=str(RESULTS), help="JSON lines, appended to")
    parser.add_argument("--report", default=str(REPORT), help="markdown file of the report")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report")
    parser.add_argument(
        "--rerun",
        nargs="*",
        default=[],
        choices=OUTCOMES,
        metavar="OUTCOME",
        help="run the seeds' cases with these outcomes again (after a fix)",
    )
    parser.add_argument("--case", type=int, help="run this one seed here and print its record")
    parser.add_argument("--target", default="host", choices=("host", "arm64-neon"))
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    if args.case is not None:
        record = run_case(args.case, args.target, args.max_blocks, args.timeout, not args.json)
        print(json.dumps(record) if args.json else json.dumps(record, indent=1))
        return 0
    if args.report_only:
        write_report(Path(args.results), Path(args.report))
        return 0
    campaign(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

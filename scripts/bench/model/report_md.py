"""docs/bench_models.md: the whole-model tables, the targets, compile times, the arm64 builds.

Every figure comes from ``summary``; this module only formats (number formatting and the
dagger for noisy points are the layer report's, from ``bench.report``).
"""

from __future__ import annotations

from ..peer_facts import NAMES as _NAMES
from ..report import busy_text, how_made, table_head
from ..report import fmt as _f
from ..report import pct as _pct
from .summary import DENSE_PEERS, TARGET_VGG_COMPILE_S, TARGETS, ModelSummary, View

__all__ = ["render_markdown"]

_TITLES = {
    "vgg16": "VGG-16",
    "resnet50": "ResNet-50",
    "mobilenet-v2": "MobileNet-V2",
    "style-transfer": "style transfer",
    "colorization": "colorization",
    "super-resolution": "super resolution",
}


def _title(model: str) -> str:
    return _TITLES.get(model, model)


def _g(macs: int) -> str:
    return f"{macs / 1e9:.2f}"


def _speed_table(s: ModelSummary, view: View) -> list[str]:
    dense = [p for p in DENSE_PEERS if any(p in pt.ms for pt in s.points.values())]
    head = ["model", "input", "GMACs dense / kept", "pattern-mlir ms"]
    head += [f"{_NAMES[p]} ms" for p in dense]
    head += [f"x {_NAMES[p]}" for p in dense] + ["x fastest dense", "useful GFLOP/s", "% FMA peak"]
    lines = table_head(head)
    peak = s.fma_peak.get(view.threads, float("nan"))
    for m in s.models:
        p = s.points[(m, view)]
        shape = "x".join(str(d) for d in s.prep[m]["input_shape"][1:])
        row = [_title(m) + (" †" if p.noisy else ""), shape]
        row += [f"{_g(p.dense_macs)} / {_g(p.kept_macs)}", f"**{_f(p.ms['pattern'])}**"]
        for d in dense:
            if d not in p.ms:
                row.append("failed")
            else:
                cl = " (cl)" if d == "torch" and p.variant[d] == "channels_last" else ""
                row.append(_f(p.ms[d]) + cl)
        row += [f"{p.ratio(d):.2f}" if d in p.ms else "-" for d in dense]
        fast = p.fastest_dense
        row += [f"**{p.ratio(fast):.2f}** ({_NAMES[fast]})"]
        row += [_f(p.useful_gflops), _pct(p.useful_gflops / peak)]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _compile_table(s: ModelSummary) -> list[str]:
    head = ["model", "compile wall s", "compile CPU s", "import s", "pattern stages s"]
    head += ["dense s", "bufferize..llvm s", "JIT codegen s", "2-thread build s"]
    head += ["reload 1t s", "reload 2t s"]
    lines = table_head(head)
    for m in s.models:
        c = s.compile[m]
        one, two = c.get("1"), c.get("2")
        if one is None:
            continue
        st = one["stages"]
        pattern = sum(st.get(k, 0) for k in ("pattern", "packed", "vector"))
        lower = sum(st.get(k, 0) for k in ("inlined", "buffers", "copies", "llvm"))
        row = [_title(m), f"**{one['wall_s']:.0f}**", f"{one['cpu_s']:.0f}"]
        row += [f"{one['import_wall_s']:.0f}", f"{pattern:.1f}", f"{st.get('dense', 0):.1f}"]
        row += [f"{lower:.0f}", f"{st.get('codegen', 0):.0f}"]
        row += [f"{two['compile_str_wall_s']:.0f}" if two else "-"]
        row += [f"{s.reload[m][t]:.0f}" if t in s.reload.get(m, {}) else "-" for t in ("1", "2")]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _arm64_table(s: ModelSummary) -> list[str]:
    head = ["model", "build", "compile wall s", "compile CPU s", "opt+llc+link s", "library MB"]
    head += ["qemu run s (not a speed)", "rel L2 vs torch"]
    lines = table_head(head)
    for m in s.models:
        a = s.arm64.get(m)
        if a is None:
            lines.append(f"| {_title(m)} | not built in this run |" + " - |" * (len(head) - 2))
            continue
        if "error" in a:
            err = a["error"].splitlines()[0].split("; arguments")[0][:160].replace("|", "/")
            lines.append(f"| {_title(m)} | **failed**: {err} |" + " - |" * (len(head) - 2))
            continue
        status = "builds, runs, matches" if a["ok"] else "builds, runs, **mismatch**"
        row = [_title(m), status, f"{a['wall_s']:.0f}", f"{a['cpu_s']:.0f}"]
        row += [f"{a['stages'].get('codegen', 0):.0f}", f"{a['library_bytes'] / 2**20:.0f}"]
        row += [f"{a['qemu_s']:.0f}", f"{a['rel_l2']:.1e}"]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _check_table(s: ModelSummary) -> list[str]:
    peers = ["pattern", *DENSE_PEERS]
    lines = ["| model | " + " | ".join(_NAMES[p] for p in peers) + " |"]
    lines.append("|---|" + "---|" * len(peers))
    for m in s.models:
        cells = []
        for p in peers:
            r = s.checks[m].get(p)
            if r is None:
                cells.append("failed to run" if p in s.failed[m] else "-")
            else:
                cells.append(f"{r[r['metric']]:.1e} {'ok' if r['ok'] else '**FAIL**'}")
        lines.append(f"| {_title(m)} | " + " | ".join(cells) + " |")
    return lines


def _verdict(ok: bool) -> str:
    return "**reached**" if ok else "**missed**"


def _targets(s: ModelSummary) -> list[str]:
    out = []
    for view in (s.view(1, "wall"), s.view(1, "cpu")):
        if view is None:
            continue
        for m, target in TARGETS.items():
            if (m, view) not in s.points:
                continue
            p = s.points[(m, view)]
            r, fast = p.ratio(p.fastest_dense), p.fastest_dense
            out.append(
                f"- {_title(m)} >= {target:g}x faster than the fastest dense peer at 1 thread "
                f"({view.title}): {_verdict(r >= target)}: {r:.3f}x "
                f"({_f(p.ms['pattern'])} ms against {_NAMES[fast]} {_f(p.ms[fast])} ms)."
            )
    if "vgg16" in s.compile and "1" in s.compile["vgg16"]:
        c = s.compile["vgg16"]["1"]
        out.append(
            f"- VGG-16 compiles in < {TARGET_VGG_COMPILE_S:g} s: "
            f"{_verdict(c['wall_s'] < TARGET_VGG_COMPILE_S)}: {c['wall_s']:.0f} s wall clock "
            f"({c['cpu_s']:.0f} s of CPU time in the compiling process and its import child; "
            "on a quiet machine the wall time would be close to the CPU time)."
        )
    return out


def _target(meta: dict) -> str:
    """pattern-mlir's target in the run, as the run described it (runs before targets: AVX-512)."""
    return meta.get("target", "host (AVX-512)")


def _header(s: ModelSummary, meta: dict) -> list[str]:
    st, v = meta["settings"], meta["versions"]
    load0, load1 = meta["load_start"], meta.get("load_end", meta["load_start"])
    dirty = meta.get("dirty", [])
    tree = (
        " pattern-mlir ran from a copy of that commit (`git archive` plus the built extension, "
        "see `bench/snapshot.py`), so colleagues' uncommitted work is not in these "
        f"figures: {len(dirty)} changed path(s) under python/ at the start "
        f"({', '.join(dirty[:6])}{', ...' if len(dirty) > 6 else ''})."
        if dirty
        else " pattern-mlir ran from a copy of that commit; the working tree was clean."
    )
    for u in meta.get("updates", []):
        tree += f" Re-measured {u['date']} at commit {u['commit']}: {u['models']}."
    return [
        "# Whole-model benchmark: pattern-mlir vs dense runtimes (CPU)",
        "",
        (
            f"Made {meta['date']} at commit {meta['commit']} in "
            f"{meta.get('duration_s', 0) / 60:.0f} min by:{tree}"
        ),
        "",
        *how_made(meta),
        "",
        (
            f"Load: the machine is shared with other engineers' jobs. `uptime` at the start: "
            f"`{meta.get('uptime_start', '?')}`; at the end: `{meta.get('uptime_end', '?')}`. "
            f"1-minute load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end "
            f"(2 cores), {min(s.loads):.1f} to {max(s.loads):.1f} before the processes. Before "
            f"each process the script waited up to {st['max_wait']:g} s for other jobs to use at "
            f"most {st['max_busy']:g} cores; in the second before they used {busy_text(s.busy)}. Every "
            "figure is the smallest per-round median, so the least disturbed round sets it; † marks "
            "models whose round medians still differ by more than 10 %. Wall-clock figures on a "
            "loaded machine are inflated (most at 2 threads, which rarely get both cores); the "
            "1-thread CPU-time view estimates the quiet-machine time."
        ),
        "",
        (
            f"Software: torch {v['torch']}, ONNX Runtime {v['onnxruntime']} (onnx {v['onnx']}), "
            f"MNN {v['MNN']}, IREE {v.get('iree-base-runtime', '-')}, "
            f"LiteRT {v.get('ai-edge-litert', '-')} (litert-torch {v.get('litert-torch', '-')}), "
            f"MLIR {v['xtc-mlir-python-bindings']} (pattern-mlir's JIT, target {_target(meta)}), "
            f"numpy {v['numpy']}."
        ),
        "",
        f"Models: `pattern_mlir.models.build(name, random_bn=True)` at its default input, "
        "batch 1, fp32, random weights (seed 0; random BatchNorm statistics, as in the compiler "
        "tests, because identity statistics give near-constant outputs that would make the "
        "output check meaningless), then `pattern_mlir.prune.project(model, "
        f"num_patterns={st['patterns']}, connectivity={st['connectivity']:g})` once; every "
        "runtime runs these projected weights (the dense peers densely, zeros included). "
        "pattern-mlir: `pattern_mlir.compile(model, x, options=CompileOptions(num_threads=N))`, "
        "timed `exe(x)`. torch: eager under `inference_mode`, NCHW and channels_last "
        "interleaved, the faster shown ((cl)). ORT: the model exported by "
        "`torch.onnx.export(..., opset_version=18, dynamo=True)`, `InferenceSession.run`. MNN: "
        "the same ONNX converted in-process, `Module.forward`. IREE: the same ONNX through "
        "`iree-import-onnx` and `iree-compile` for llvm-cpu on this CPU (flags in "
        "`scripts/bench/peers/iree.py`: O3, data tiling, ukernels, im2col convs), "
        "the module's function on the `local-sync` (1 thread) or `local-task` driver. LiteRT: "
        "the projected torch model converted by `litert_torch.convert` (in .venv-litert), "
        "the TFLite interpreter with XNNPACK, `Interpreter(model_path, num_threads=N)`, timed "
        "`set_tensor`, `invoke`, `get_tensor`. "
        "Each runtime in its own fresh "
        f"process, one after another (A B A B), {st['warmup']} warm-up run(s), then the median of "
        f"{st['runs']} runs per process and thread count, {st['rounds']} to {st['max_rounds']} "
        f"rounds per model (more while round medians differ by > {st['noise']:.0%})."
        + (" **Quick run: fewer runs and rounds than the protocol asks.**" if st["quick"] else ""),
        "",
    ]


def render_markdown(s: ModelSummary, meta: dict) -> str:
    lines = _header(s, meta)
    lines += ["## Targets (issue 5 item 6)", "", *_targets(s), ""]
    for view in s.views:
        t = view.threads
        clock = (
            "Wall clock (the protocol's figure)."
            if view.clock == "wall"
            else "The same runs by the process's CPU time (`time.process_time`): at one thread "
            "this leaves out the time the scheduler gave to other jobs."
        )
        lines += [
            f"## {view.title}",
            "",
            (
                f"{clock} Ratios: peer ms / pattern-mlir ms (> 1: pattern-mlir faster). GMACs dense: "
                "every conv and linear layer; kept: pattern-pruned 3x3 convs at their kept taps, "
                "everything else dense. Useful GFLOP/s = 2 x kept MACs / pattern-mlir time; FMA peak "
                f"at {t} thread{'s' if t > 1 else ''}: "
                f"{s.fma_peak.get(t, float('nan')):.0f} GFLOP/s (JIT-compiled loop of independent "
                f"FMAs of target {_target(meta)}, best seen in this run)."
            ),
            "",
            *_speed_table(s, view),
            "",
        ]
    lines += [
        "## Compile time (host)",
        "",
        (
            "Compile: from the torch module to a callable 1-thread executable, i.e. "
            "`pattern_mlir.compile`, timed as its two halves: the import (torch.export, "
            "BatchNorm folding, torch-mlir's FX importer in a child process) and "
            "`pattern_mlir.compile_str` (the stages of `exe.stage_seconds`, then the JIT's LLVM "
            "code generation). CPU s: this process plus its import child. 2-thread build: "
            "`compile_str` again with `num_threads=2` on the same import (the thread count is "
            "compiled in). Reload: the fresh processes of later rounds parse the kept "
            "LLVM-dialect bytecode and JIT it."
        ),
        "",
        *_compile_table(s),
        "",
        "## arm64-neon builds",
        "",
        (
            '`pattern_mlir.compile(..., target="arm64-neon")` at 1 thread: same import and '
            "stages, then LLVM IR -> opt -> `llc -mcpu=cortex-a76` -> shared library, run once on "
            "the example input under qemu-aarch64 and compared with torch (relative L2, bound "
            "1e-4). **The qemu seconds are no speed figure**: qemu emulates every instruction; "
            "arm64 speed is estimated with llvm-mca in docs/bench_layers.md."
        ),
        "",
        *_arm64_table(s),
        "",
        "## Outputs against torch",
        "",
        (
            "Worst over variants and thread counts, against torch NCHW at one thread: pattern-mlir "
            "and MNN relative L2 error (bounds 1e-4 and 1e-3; MNN's Winograd differs by about "
            "3e-4), torch channels_last, ORT, IREE and LiteRT max |error| / max |torch| "
            "(bound 1e-3)."
        ),
        "",
        *_check_table(s),
        "",
    ]
    failures = [(m, p, e) for m, f in s.failed.items() for p, e in f.items()]
    failures += [(m, "all", e) for m, e in s.errors.items()]
    if failures:
        lines += ["## Runtimes that failed", ""]
        for m, p, e in failures:
            last = [ln for ln in e.splitlines() if ln.strip()][-1][:300]
            first = e.splitlines()[0].split("; arguments")[0]
            who = "the model could not be measured" if p == "all" else _NAMES[p]
            lines.append(f"- {_title(m)}, {who}: {first}: `{last}`")
        lines.append("")
    lines += [
        "## How to read it",
        "",
        (
            "- Pattern pruning removes work only in dense 3x3 convs; the MACs column shows how much "
            "of each model that is (MobileNet-V2 has one such conv: its time is all dense work)."
        ),
        (
            "- The dense (non-pattern) parts compile through the `dense` stage "
            "(`pattern-vectorize-dense`), which is being improved; figures are of the commit above."
        ),
        (
            "- Raw samples: the JSON named in the run's log (`--results`); "
            "`scripts/bench_models.py --render-only` redraws this page and the plot from it."
        ),
        "",
    ]
    return "\n".join(lines)

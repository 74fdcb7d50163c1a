"""docs/bench_layers.md: tables of the run, its targets, and how it was made.

Every figure is derived in ``summary``; this module only formats. Noisy points (round medians
more than 10 % apart after the extra rounds) are marked with a dagger rather than hidden.
"""

from __future__ import annotations

from ..peer_facts import NAMES as _NAMES
from ..report import busy_text, how_made, table_head
from ..report import fmt as _f
from ..report import pct as _pct
from . import targets
from .layers import LAYERS
from .summary import DENSE_PEERS, Summary, View

__all__ = ["render_markdown"]


def _speed_table(s: Summary, view: View) -> list[str]:
    dense = [p for p in DENSE_PEERS if any(p in pt.ms for pt in s.points.values())]
    head = ["layer", "shape", "MACs kept", "pattern-mlir ms", "kernel only ms"]
    head += [f"{_NAMES[p]} ms" for p in dense]
    head += [f"x {_NAMES[p]}" for p in dense] + ["x fastest dense"]
    head += ["useful GFLOP/s", "% FMA peak", "% best dense conv"]
    lines = table_head(head)
    for net in ("VGG-16", "ResNet-50"):
        names = s.layers(net)
        if not names:
            continue
        kept = dense_macs = 0
        for name in names:
            p = s.points[(name, view)]
            layer = LAYERS[name]
            kept += layer.count * p.kept_macs
            dense_macs += layer.count * p.dense_macs
            eff = s.efficiency(p)
            torch_ms = _f(p.ms["torch"]) + (
                " (cl)" if p.variant["torch"] == "channels_last" else ""
            )
            mark = " †" if p.noisy else ""
            count = f" (x{layer.count})" if layer.count > 1 else ""
            row = [
                f"{name}{count}{mark}",
                layer.shape_text(),
                f"1/{p.dense_macs / p.kept_macs:.1f}",
            ]
            row += [_f(p.ms["pattern"]), _f(p.kernel_ms)]
            row += [torch_ms if d == "torch" else _f(p.ms[d]) for d in dense]
            row += [f"{p.ratio(d):.2f}" for d in dense]
            row += [f"{p.ratio(p.fastest_dense):.2f} ({_NAMES[p.fastest_dense]})"]
            row += [_f(p.useful_gflops), _pct(eff[0]), _pct(eff[1])]
            lines.append("| " + " | ".join(row) + " |")
        tot = s.totals[(net, view)]
        fastest = min((d for d in dense if d in tot), key=tot.get)
        useful = 2 * kept / tot["pattern"] / 1e6
        n_convs = sum(LAYERS[n].count for n in names)
        row = [f"**{net} total**", f"{n_convs} {'3x3 ' if net == 'ResNet-50' else ''}convs"]
        row += [f"1/{dense_macs / kept:.1f}", f"**{_f(tot['pattern'])}**", "-"]
        row += [_f(tot[d]) for d in dense]
        row += [f"**{tot[d] / tot['pattern']:.2f}**" for d in dense]
        row += [f"**{tot[fastest] / tot['pattern']:.2f}** ({_NAMES[fastest]})"]
        peak = s.fma_peak.get(view.threads, float("nan"))
        row += [_f(useful), _pct(useful / peak), _pct(useful / s.best_dense[view][0])]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _check_table(s: Summary) -> list[str]:
    peers = ["pattern", *DENSE_PEERS]
    lines = [
        "| layer | " + " | ".join(f"{_NAMES[p]}" for p in peers) + " |",
        "|---|" + "---|" * len(peers),
    ]
    for name in s.layers():
        c = s.checks[name]
        cells = []
        for p in peers:
            if p not in c:
                cells.append("-")
                continue
            r = c[p]
            cells.append(f"{r[r['metric']]:.1e} {'ok' if r['ok'] else '**FAIL**'}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _mca_table(s: Summary) -> list[str]:
    lines = [
        (
            "| layer | kind | shape | arm64 schedule (rows x cols, channel block) | loop instructions "
            "| fmla .4s | FMA bound cycles | neoverse-n1 cycles | neoverse-n1 % bound "
            "| cortex-a76 cycles | cortex-a76 % bound |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in s.mca.items():
        n1, a76 = m["reports"]["neoverse-n1"], m["reports"]["cortex-a76"]
        sched = m.get("schedule", "")
        block = "-"
        if sched:
            fields = dict(kv.split("=") for kv in sched[sched.index("(") + 1 : -1].split(", "))
            block = f"{fields['tile_rows']} x {fields['tile_cols']}, {fields['tile_channels']}"
        row = [name, m.get("kind", "pattern"), m.get("shape", ""), block, str(m["instructions"])]
        row += [
            str(n1["fmla_4s"]),
            f"{n1['fma_bound_cycles']:.0f}",
            f"{n1['block_rthroughput']:.1f}",
        ]
        row += [_pct(n1["fraction_of_bound"]), f"{a76['block_rthroughput']:.1f}"]
        row += [_pct(a76["fraction_of_bound"])]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _mca_targets(s: Summary) -> list[str]:
    """The arm64 target line, for the pattern convs and the dense GEMMs apart."""
    out = []
    for kind, what in (("pattern", "pattern-conv"), ("dense", "dense GEMM")):
        loops = [m for m in s.mca.values() if m.get("kind", "pattern") == kind]
        if not loops:
            continue
        frac = [m["reports"]["neoverse-n1"]["fraction_of_bound"] for m in loops]
        a76 = [m["reports"]["cortex-a76"]["fraction_of_bound"] for m in loops]
        hit = sum(f >= targets.ARM64_BOUND for f in frac)
        out.append(
            f"- arm64 {what} inner loops >= {targets.ARM64_BOUND:.0%} of the FMA bound (llvm-mca "
            f"neoverse-n1): {_verdict(hit, len(frac))}: {min(frac):.0%} to {max(frac):.0%} "
            f"(cortex-a76 model: {min(a76):.0%} to {max(a76):.0%})."
        )
    return out


def _verdict(hit: int, n: int) -> str:
    return "**reached**" if hit == n else f"**missed** ({hit}/{n} reach it)"


def _over_mnn(
    s: Summary, view: View, net: str, target: float, what: str, per: str, how_many
) -> list[str]:
    """The line of a "faster than MNN" target of one network, or none where MNN did not run."""
    points = [s.points[(n, view)] for n in s.layers(net)]
    if not points or "mnn" not in points[0].ms:
        return []
    over = [p.ratio("mnn") for p in points]
    tot = s.totals[(net, view)]
    return [
        f"  - {what} >= {target:g}x faster than MNN: "
        f"{_verdict(sum(r >= target for r in over), len(points))}; per {per} "
        f"{min(over):.2f}x to {max(over):.2f}x, all {how_many(points)} together "
        f"{tot['mnn'] / tot['pattern']:.2f}x."
    ]


def _targets_view(s: Summary, view: View) -> list[str]:
    """The speed targets read in one view (1 thread by wall clock or by CPU time)."""
    out = _over_mnn(s, view, "VGG-16", targets.VGG_OVER_MNN, "VGG-16 convs", "layer", len)
    vgg = [s.points[(n, view)] for n in s.layers("VGG-16")]
    if vgg:
        eff = [s.efficiency(p) for p in vgg]
        fma, conv = [e[0] for e in eff], [e[1] for e in eff]
        hit = sum(e >= targets.VGG_PEAK for e in fma)
        best = s.best_dense[view]
        out.append(
            f"  - VGG-16 convs >= {targets.VGG_PEAK:.0%} of the single-core peak in useful "
            f"GFLOP/s: {_verdict(hit, len(vgg))}: {min(fma):.0%} to "
            f"{max(fma):.0%} of the FMA-loop peak ({s.fma_peak.get(1, float('nan')):.0f} "
            f"GFLOP/s), {min(conv):.0%} to {max(conv):.0%} of the best dense conv seen "
            f"({best[0]:.0f} GFLOP/s, {best[1]})."
        )

    def convs(points) -> str:
        return (
            f"{sum(LAYERS[p.layer].count for p in points)} 3x3 convs (each shape times its count)"
        )

    return out + _over_mnn(
        s, view, "ResNet-50", targets.RESNET_OVER_MNN, "ResNet-50 3x3 convs", "shape", convs
    )


def _targets(s: Summary) -> list[str]:
    out = []
    for view in (s.view(1, "wall"), s.view(1, "cpu")):
        if view is not None:
            out += [f"- {view.title}:", *_targets_view(s, view)]
    if s.mca:
        out += _mca_targets(s)
    return out


# Single-thread MNN figures (ms) measured outside this run on this kind of machine (docs/design.md section 9).
_MNN_REFERENCE = {"vgg_conv3_2": 13.4, "r50_3x3_64": 0.84}


def _findings(s: Summary, meta: dict) -> list[str]:
    """What the run can and cannot say, computed from its own numbers."""
    out = []
    cpu1, wall1, wall2 = s.view(1, "cpu"), s.view(1, "wall"), s.view(2, "wall")
    view = cpu1 or wall1
    for name, ref in _MNN_REFERENCE.items():
        if (name, view) in s.points and "mnn" in s.points[(name, view)].ms:
            p = s.points[(name, view)]
            out.append(
                f"- MNN ran slower here than the reference of docs/design.md: {name} "
                f"{p.ms['mnn']:.2f} ms ({view.title}) against {ref} ms there. Against the "
                f"reference figure pattern-mlir's {p.ms['pattern']:.2f} ms would be "
                f"{ref / p.ms['pattern']:.2f}x, not {p.ratio('mnn'):.2f}x. Both are reported "
                "because the loaded machine (shared caches and memory bandwidth) may slow MNN's "
                "Winograd more than it slows the pattern kernel, whose working set is blocked "
                "for L1."
            )
    if cpu1 and wall1:
        ratio = [
            s.points[(n, wall1)].ms["pattern"] / s.points[(n, cpu1)].ms["pattern"]
            for n in s.layers()
        ]
        pairs = [
            (n, d, s.points[(n, wall1)].ratio(d) / s.points[(n, cpu1)].ratio(d))
            for n in s.layers()
            for d in DENSE_PEERS
            if d in s.points[(n, wall1)].ms
        ]
        close = sum(abs(r - 1) <= 0.2 for _, _, r in pairs)
        mnn_idle = [
            n
            for n in s.layers()
            if "mnn" in s.points[(n, wall1)].ms
            and s.points[(n, wall1)].ms["mnn"] > 1.8 * s.points[(n, cpu1)].ms["mnn"]
            and s.points[(n, wall1)].ms["pattern"] < 1.3 * s.points[(n, cpu1)].ms["pattern"]
        ]
        out.append(
            f"- Wall clock against CPU time at one thread: pattern-mlir's wall times are "
            f"{min(ratio):.1f}x to {max(ratio):.1f}x its CPU times (the process got between "
            f"{1 / max(ratio):.0%} and {min(1, 1 / min(ratio)):.0%} of a core). The CPU-time view is the "
            "better estimate of a quiet machine; its speedups over the peers are within 20 % of "
            f"the wall-clock ones for {close} of {len(pairs)} (layer, peer) pairs."
        )
        if mnn_idle:
            out.append(
                f"- MNN's wall time is about twice its CPU time on {', '.join(mnn_idle)} even "
                "where pattern-mlir's wall and CPU times agree: MNN waits without computing "
                "there (cause not analysed), so the CPU-time view flatters MNN on these layers "
                "and the wall-clock view is the fair one."
            )
    if wall2 and 2 in s.fma_peak and 1 in s.fma_peak:
        out.append(
            f"- 2 threads: the FMA loop reached {s.fma_peak[2]:.0f} GFLOP/s on two threads "
            f"against {s.fma_peak[1]:.0f} on one: the second core was never free. The "
            "2-thread table therefore measures how each runtime copes with an oversubscribed "
            "machine (torch's spinning OpenMP workers suffer most), not its scaling; it is "
            "kept for completeness and should be re-measured on a quiet machine."
        )
    if view:
        stride2 = [s.points[(n, view)].useful_gflops for n in s.layers() if LAYERS[n].stride == 2]
        stride1 = [s.points[(n, view)].useful_gflops for n in s.layers() if LAYERS[n].stride == 1]
        if stride2 and stride1:
            weakest = min(
                (n for n in s.layers() if LAYERS[n].stride == 1),
                key=lambda n: s.points[(n, view)].useful_gflops,
            )
            out.append(
                f"- Useful GFLOP/s by shape ({view.title}): stride 2 reaches {min(stride2):.0f} "
                f"to {max(stride2):.0f}, stride 1 {min(stride1):.0f} to {max(stride1):.0f} "
                f"(lowest: {weakest}, {LAYERS[weakest].shape_text()}). The best layers reach "
                f"about {max(stride1) / s.fma_peak.get(1, float('nan')):.0%} of the FMA peak, "
                "so the 60 % target is missed by a wide margin everywhere."
            )
    return [*out, _duration_note(meta)]


def _duration_note(meta: dict) -> str:
    st = meta["settings"]
    return (
        f"- The run took {meta.get('duration_s', 0) / 60:.0f} min: with the load never settling, "
        f"every layer went to {st['max_rounds']} rounds; a quiet machine needs {st['rounds']} "
        "rounds and about half the time."
    )


def render_markdown(s: Summary, meta: dict) -> str:
    settings = meta["settings"]
    v = meta["versions"]
    load0, load1 = meta["load_start"], meta.get("load_end", meta["load_start"])
    lines = [
        "# Layer benchmark: pattern conv vs dense peers (CPU)",
        "",
        (
            f"Made {meta['date']}"
            + (f" (noisy layers re-measured {meta['updated']})" if "updated" in meta else "")
            + f" at commit {meta['commit']} in {meta.get('duration_s', 0) / 60:.0f} min by"
        ),
        "",
        *how_made(meta),
        "",
        (
            f"Load: the machine is shared with other engineers' jobs. 1-minute load average "
            f"{load0[0]:.1f} at the start, {load1[0]:.1f} at the end (2 cores), {min(s.loads):.1f} "
            f"to {max(s.loads):.1f} at the start of the layer rounds. Before each round the "
            f"script waited up to {settings.get('max_wait', 0):g} s for other jobs to use at most "
            f"{settings.get('max_busy', 0):g} cores; in the second before the rounds they used "
            f"{busy_text(s.busy)}. Every figure is the smallest per-round median, so a round slowed by "
            "other jobs does not set it; † marks points whose round medians still differ by more "
            "than 10 %. 2-thread figures suffer most: while other jobs run, two threads rarely get "
            "both cores."
        ),
        "",
        (
            f"Software: torch {v['torch']}, ONNX Runtime {v['onnxruntime']} (onnx {v['onnx']}), "
            f"MNN {v['MNN']}, MLIR {v['xtc-mlir-python-bindings']} (pattern-mlir's JIT, "
            f"target {meta.get('target', 'host (AVX-512)')}), numpy {v['numpy']}."
        ),
        "",
        (
            f"Weights: random, projected onto a library of {settings['patterns']} patterns of 4 "
            f"taps (centre kept), connectivity pruning to 1/{settings['connectivity']:g} of the "
            "kernels (`pattern_mlir.codegen.synthetic`); the dense peers run the same projected "
            "weights. fp32, batch 1, bias, no activation. Each runtime in its own fresh process, "
            f"one after another (A B A B), {settings['warmup']} warm-up runs then the median of "
            f"{settings['runs']} runs per process, {settings['rounds']} to "
            f"{settings['max_rounds']} rounds per layer (more while round medians differ by "
            f"> {settings['noise']:.0%})."
        ),
        "",
        "## Targets (issue 4 item 4)",
        "",
        *_targets(s),
        "",
        "## Findings and caveats",
        "",
        *_findings(s, meta),
        "",
    ]
    for view in s.views:
        t = view.threads
        peak = s.fma_peak.get(t, float("nan"))
        clock = (
            "Wall-clock times (the protocol's figure). "
            if view.clock == "wall"
            else "The same runs timed by the process's CPU time (`time.process_time`): at one "
            "thread this leaves out the time the scheduler gave to other jobs, so it estimates "
            "the quiet-machine wall time that the loaded machine could not show. "
        )
        best = s.best_dense[view]
        lines += [
            f"## {view.title}",
            "",
            (
                f"{clock}Ratios are peer ms / pattern-mlir ms (> 1: pattern-mlir faster). "
                f"Useful GFLOP/s = 2 x kept MACs / time; FMA peak at {t} "
                f"thread{'s' if t > 1 else ''}: {peak:.0f} GFLOP/s (JIT-compiled loop of "
                f"independent FMAs of target {meta.get('target', 'host (AVX-512)')}, best seen); best dense conv seen: {best[0]:.0f} "
                f"GFLOP/s ({best[1]}). (cl): torch's channels_last was the faster format."
            ),
            "",
            *_speed_table(s, view),
            "",
        ]
    lines += [
        "## Outputs against torch",
        "",
        (
            "Worst over variants and thread counts: pattern-mlir and MNN relative L2 error "
            "(bounds 1e-4 and 1e-3; MNN's Winograd gives about 1e-4), torch channels_last and "
            "ORT max |error| / max |torch| (bound 1e-3)."
        ),
        "",
        *_check_table(s),
        "",
    ]
    if s.mca:
        lines += [
            "## arm64 inner loops (llvm-mca)",
            "",
            (
                'Each layer compiled by `compile(..., target="arm64-neon")` (`llc -mcpu=cortex-a76`): '
                "the pattern convs with their default schedule, ResNet-50's 1x1 convs "
                "(dense GEMMs) and classifier (a batch-1 linear layer is a GEMV: one load per FMA, so it is "
                "load-bound and outside the FMA-bound target); the innermost loop with the most `fmla .4s` fed to "
                "llvm-mca. FMA bound = fmla / 2 cycles (two 128-bit FMA pipes). neoverse-n1 is the "
                "A76-derived model to trust; LLVM 22 gives cortex-a76 the older A57 model, which "
                "halves 128-bit FMA throughput. Cycles are the block reciprocal throughput."
            ),
            "",
            *_mca_table(s),
            "",
        ]
    lines += [
        "## How to read it",
        "",
        (
            "- pattern-mlir ms is the public call (`PatternConvKernel.__call__`: copies the input "
            "into the padded, aligned buffer, then runs the kernel); kernel only is the same "
            "without that copy (`run_padded`), what a network whose previous layer writes into "
            "the padded buffer would see."
        ),
        (
            "- MNN is timed on `Module.forward` only; ORT on `InferenceSession.run`; torch on "
            "`Conv2d` under `inference_mode`, NCHW and channels_last interleaved, the faster shown."
        ),
        (
            "- Dense peers compute all 9 taps of every kernel; their dense-equivalent GFLOP/s "
            "(2 x all MACs / time) of MNN exceeds what it computes (Winograd)."
        ),
        (
            "- Raw samples: the JSON named in the run's log (`--results`); "
            "`scripts/bench_layers.py --render-only` redraws this page and the plot from it."
        ),
        "",
    ]
    return "\n".join(lines)

"""Static speed estimate of generated ARM64 inner loops with ``llvm-mca``.

qemu timings say nothing about a phone, so speed on ARM64 is estimated from the assembly: find
the hot inner loop (the innermost loop holding the NEON ``fmla``), feed its body to ``llvm-mca``,
and set the cycles per iteration against the FMA bound (a Cortex-A76 issues two 128-bit FMAs per
cycle). Two scheduling models are reported, because LLVM 22 gives ``-mcpu=cortex-a76`` the
older Cortex-A57 model, which halves 128-bit FMA throughput: ``neoverse-n1`` (derived from the
A76) is the estimate to trust, ``cortex-a76`` is reported so the difference stays visible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..runtime.toolchain import run_tool
from .aarch64_build import count_fmla

__all__ = [
    "A76_FMLA_PER_CYCLE",
    "DEFAULT_MCA_CPUS",
    "AsmLoop",
    "LoopAnalysis",
    "McaReport",
    "analyze_hot_loop",
    "find_loops",
    "hottest_loop",
    "run_mca",
]

DEFAULT_MCA_CPUS = ("neoverse-n1", "cortex-a76")
A76_FMLA_PER_CYCLE = 2.0  # two 128-bit FMA pipes (V0, V1): 8 fp32 FMAs per cycle

_LABEL = re.compile(r"^([.$\w]+):")
_FUNC_TYPE = re.compile(r"^\s*\.type\s+([^,\s]+),\s*@function")
# Conditional and unconditional branches to a label; the label is the last operand.
_BRANCH = re.compile(r"^\s*(?:b|b\.\w+|bc\.\w+|cbn?z|tbn?z)\s+(?:[^/]*,\s*)?([.$\w]+)\s*(?://.*)?$")


@dataclass(frozen=True)
class AsmLoop:
    """A loop in the assembly: from its header label to the backward branch that closes it."""

    function: str
    label: str
    start: int  # line number (0-based) of the header label
    end: int  # line number of the backward branch
    body: str  # the lines start..end, comments and directives removed
    depth: int = 1  # 1 for an outermost loop
    innermost: bool = True

    @property
    def instructions(self) -> list[str]:
        return [ln.strip() for ln in self.body.splitlines() if not _LABEL.match(ln.strip())]

    @property
    def fmla_4s(self) -> int:
        return count_fmla(self.body, "4s")


def _clean(line: str) -> str:
    """Drop comments and assembler directives; keep labels and instructions."""
    code = line.split("//", 1)[0].rstrip()
    stripped = code.strip()
    if not stripped or (stripped.startswith(".") and not _LABEL.match(stripped)):
        return ""
    return code


def find_loops(asm: str) -> list[AsmLoop]:
    """All loops of ``asm`` (assembly as ``llc`` prints it), outermost first within a function.

    A loop is a branch to a label defined earlier in the same function. Nesting follows from
    the line ranges: a loop whose range holds no other loop is innermost.
    """
    lines = asm.splitlines()
    closing: dict[tuple[str, str], tuple[int, int]] = {}  # (function, label) -> (start, end)
    function, labels = "", {}
    for number, line in enumerate(lines):
        if m := _FUNC_TYPE.match(line):
            function, labels = m.group(1), {}
            continue
        if m := _LABEL.match(line):
            labels[m.group(1)] = number
            continue
        if (m := _BRANCH.match(line)) and m.group(1) in labels:
            # Several branches back to one header form one loop, closed by the last of them.
            closing[(function, m.group(1))] = (labels[m.group(1)], number)
    loops = [(fn, label, start, end) for (fn, label), (start, end) in closing.items()]
    result = []
    for function, label, start, end in sorted(loops, key=lambda x: (x[2], -x[3])):
        inside = [o for o in loops if o[0] == function and start <= o[2] and o[3] <= end]
        depth = sum(1 for o in loops if o[0] == function and o[2] <= start and end <= o[3])
        body = "\n".join(c for c in map(_clean, lines[start : end + 1]) if c)
        result.append(AsmLoop(function, label, start, end, body, depth, len(inside) == 1))
    return result


def hottest_loop(asm: str, function: str | None = None) -> AsmLoop:
    """The innermost loop with the most ``fmla .4s`` (ties: the deeper, then the shorter one).

    Raises ``LookupError`` naming what was found when no loop holds an ``fmla .4s``, which
    usually means the code was not vectorised.
    """
    loops = [lp for lp in find_loops(asm) if function is None or lp.function == function]
    candidates = [lp for lp in loops if lp.innermost and lp.fmla_4s > 0]
    if not candidates:
        where = f" of function {function!r}" if function else ""
        raise LookupError(
            f"no innermost loop{where} contains fmla .4s ({len(loops)} loops found, "
            f"{count_fmla(asm)} fmla .4s in the whole assembly): is the kernel vectorised?"
        )
    return max(candidates, key=lambda lp: (lp.fmla_4s, lp.depth, -len(lp.instructions)))


@dataclass(frozen=True)
class McaReport:
    """llvm-mca's view of one loop body on one scheduling model.

    ``block_rthroughput`` is the throughput bound of one iteration (cycles) and the main
    estimate; ``cycles_per_iteration`` is the simulated total cycles / iterations, which adds
    latency chains the bound ignores. ``fraction_of_bound`` = ideal FMA cycles / estimate.
    """

    cpu: str
    instructions: int
    fmla_4s: int
    block_rthroughput: float
    cycles_per_iteration: float
    ipc: float
    fmla_per_cycle_bound: float = A76_FMLA_PER_CYCLE
    raw: str = field(default="", repr=False, compare=False)

    @property
    def fma_bound_cycles(self) -> float:
        """Cycles per iteration if the FMA pipes were the only limit."""
        return self.fmla_4s / self.fmla_per_cycle_bound

    @property
    def fraction_of_bound(self) -> float:
        """Share of the FMA peak reached at the throughput estimate (1.0 = FMA bound)."""
        return self.fma_bound_cycles / self.block_rthroughput if self.block_rthroughput else 0.0

    @property
    def fraction_of_bound_simulated(self) -> float:
        """Share of the FMA peak at the simulated cycles per iteration."""
        return (
            self.fma_bound_cycles / self.cycles_per_iteration if self.cycles_per_iteration else 0.0
        )

    def as_dict(self) -> dict:
        """Plain numbers for JSON reports and benchmark tables."""
        return {
            "cpu": self.cpu,
            "instructions": self.instructions,
            "fmla_4s": self.fmla_4s,
            "block_rthroughput": self.block_rthroughput,
            "cycles_per_iteration": self.cycles_per_iteration,
            "ipc": self.ipc,
            "fma_bound_cycles": self.fma_bound_cycles,
            "fraction_of_bound": self.fraction_of_bound,
            "fraction_of_bound_simulated": self.fraction_of_bound_simulated,
        }

    def summary(self) -> str:
        return (
            f"{self.cpu}: {self.instructions} instructions, {self.fmla_4s} fmla.4s, "
            f"{self.block_rthroughput:.2f} cycles/iter (RThroughput; simulated "
            f"{self.cycles_per_iteration:.2f}), FMA bound {self.fma_bound_cycles:.2f} -> "
            f"{100 * self.fraction_of_bound:.0f}% of bound"
        )


def _field(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)}:\s+([\d.]+)", text, re.MULTILINE)
    if m is None:
        raise ValueError(f"llvm-mca output has no '{name}:' line:\n{text[:2000]}")
    return float(m.group(1))


def run_mca(
    loop_asm: str,
    cpu: str = "neoverse-n1",
    *,
    iterations: int = 100,
    fmla_per_cycle: float = A76_FMLA_PER_CYCLE,
) -> McaReport:
    """Run ``llvm-mca`` for ``cpu`` over ``loop_asm`` (one loop body) and parse its summary."""
    proc = run_tool(
        "llvm-mca",
        ["-mtriple=aarch64-linux-gnu", f"-mcpu={cpu}", f"-iterations={iterations}", "-"],
        input=loop_asm + "\n",
    )
    text = proc.stdout
    iters = _field(text, "Iterations")
    return McaReport(
        cpu=cpu,
        instructions=round(_field(text, "Instructions") / iters),
        fmla_4s=count_fmla(loop_asm, "4s"),
        block_rthroughput=_field(text, "Block RThroughput"),
        cycles_per_iteration=_field(text, "Total Cycles") / iters,
        ipc=_field(text, "IPC"),
        fmla_per_cycle_bound=fmla_per_cycle,
        raw=text,
    )


@dataclass(frozen=True)
class LoopAnalysis:
    """The hot loop of a kernel and its llvm-mca report per scheduling model."""

    loop: AsmLoop
    reports: dict[str, McaReport]

    def as_dict(self) -> dict:
        """The loop's place and every model's numbers, for JSON reports."""
        loop = self.loop
        return {
            "function": loop.function,
            "label": loop.label,
            "depth": loop.depth,
            "body": loop.body,
            "reports": {cpu: r.as_dict() for cpu, r in self.reports.items()},
        }

    def summary(self) -> str:
        head = f"loop {self.loop.label} in {self.loop.function} (depth {self.loop.depth})"
        return "\n".join([head, *(f"  {r.summary()}" for r in self.reports.values())])


def analyze_hot_loop(
    asm: str,
    *,
    function: str | None = None,
    cpus: Sequence[str] = DEFAULT_MCA_CPUS,
    iterations: int = 100,
) -> LoopAnalysis:
    """Find the hottest fmla loop of ``asm`` and estimate it on every model in ``cpus``."""
    loop = hottest_loop(asm, function)
    reports = {cpu: run_mca(loop.body, cpu, iterations=iterations) for cpu in cpus}
    return LoopAnalysis(loop, reports)

"""One frozen record per compile target, and what code generation derives from it.

Every register block, schedule default, tuner space, peak probe and build step reads the
target's record instead of a table of its own, so that a new CPU is one record, not a hunt
through the passes. Derived sizes (``pattern_accumulators``, ``gemm_block``,
``peak_accumulators``) are computed from the register file and the FMA pipes here, in one
place; docs/targets.md gives the reasoning and what each was checked against.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = ["Target"]

# Rows (broadcast weights) and vectors of a dense GEMM register block are searched up to these.
_GEMM_MAX_ROWS = 8
_GEMM_MAX_VECTORS = 4


@dataclass(frozen=True)
class Target:
    """What the compiler knows about one machine it generates code for.

    name:             the name `compile(..., target=...)` and `--target` take.
    kind:             "cpu" (LLVM code) or "gpu" (SPIR-V).
    isa:              the vector ISA in words, as reports print it ("AVX-512", "AVX2+FMA").
    triple:           LLVM target triple.
    cpu:              LLVM CPU the code may use the instructions of (llc -mcpu, the
                      functions' ``target-cpu``); it decides the ISA together with `features`.
    features:         extra LLVM target features (llc -mattr, ``target-features``).
    tune_cpu:         LLVM CPU whose scheduling model the code is tuned for (``tune-cpu``).
    vector_bits:      width of the vector registers the generated code uses.
    vector_registers: architectural vector registers of that width.
    fma_units:        vector FMA instructions issued per cycle.
    fma_latency:      cycles from an FMA to a dependent FMA.
    fma_memory_operand: an FMA can take one multiplicand from memory (x86), so input vectors
                      need no register of their own; AArch64 FMAs can instead take a weight
                      from a lane of a register (one register holds four taps' weights).
    l1d_bytes, l2_bytes: data cache per core.
    cc:               C compiler that links libraries for this target.
    prefetch:         default prefetch distance of the pattern conv, in kernels (0 = none).
    spirv_profile:    GPU only: name of the SPIR-V profile (`backend/spirv_tools.py`).

    Which rules learned from tuning hold on the CPU (`codegen/schedule.py` `_tuned_rules`
    explains each; `target/schedule_rules.py` sets them per CPU):
    stride1_channel_blocks: stride-1 convs block input channels for L1 (else prefetch, and a
                      register block one row taller where the registers allow).
    stride1_row_align: input rows of stride-1 convs padded to a multiple of this many floats.
    stride2_by_channel: stride-2 convs run kernels in channel order in 16-channel blocks.
    tiny_stride2_row_align: the same for stride-2 convs whose output fits one register block.
    split_two_vector_rows: rows of two native vectors run as four half-width vectors (CPUs
                      that execute 512-bit FMAs in two halves).
    """

    name: str
    kind: str
    isa: str
    triple: str = ""
    cpu: str = ""
    features: tuple[str, ...] = ()
    tune_cpu: str = ""
    vector_bits: int = 128
    vector_registers: int = 0
    fma_units: int = 0
    fma_latency: int = 0
    fma_memory_operand: bool = False
    l1d_bytes: int = 32 * 1024
    l2_bytes: int = 512 * 1024
    cc: str = "cc"
    prefetch: int = 0
    spirv_profile: str = ""
    stride1_channel_blocks: bool = True
    stride1_row_align: int = 16
    stride2_by_channel: bool = False
    tiny_stride2_row_align: int = 16
    split_two_vector_rows: bool = False

    # ----- derived sizes -----------------------------------------------------------------
    @property
    def lanes(self) -> int:
        """f32 lanes of one native vector."""
        return self.vector_bits // 32

    @property
    def fma_in_flight(self) -> int:
        """Independent FMAs needed to keep every FMA pipe busy (units x latency)."""
        return self.fma_units * self.fma_latency

    @property
    def pattern_accumulators(self) -> int:
        """Accumulator vectors one pattern-conv register block may keep live.

        The other registers hold the weights of a pattern's four taps and the input vectors
        the taps share (load-redundancy elimination keeps each input row vector live across
        the taps that read it). x86 broadcasts each tap's weight into a register of its own,
        and the shared inputs took the rest of half the file: on AVX-512, 16 accumulators of
        32 run without spills, 28 and more spill. AArch64 keeps the four weights in the
        lanes of one register and needs 12 registers for weights and inputs.
        """
        if self.fma_memory_operand:
            working = self.vector_registers // 2
        else:
            working = 12 if self.vector_registers >= 24 else self.vector_registers // 2
        return max(self.fma_in_flight, self.vector_registers - working)

    @property
    def pattern_wide_accumulators(self) -> int:
        """Accumulator vectors of a pattern-conv register block whose rows take three vectors
        or more. With 16 registers and FMAs that read inputs from memory, such a block keeps
        10 accumulators beside the four taps' broadcast weights without spills (12 spilled:
        3 rows x 4 vectors made 30 stack accesses in the pattern loops), and the taller block
        that allows beats `pattern_accumulators`' one row: AVX2 on a Zen 4 host, 2 x 5
        vectors against 1 x 8 at widths 224 and 112, 2 x 4 against 1 x 7 at width 56
        (docs/targets.md; docs/design.md, section 10). Rows of one or two vectors keep
        `pattern_accumulators`."""
        if self.fma_memory_operand and self.vector_registers < 24:
            return self.vector_registers - 6
        return self.pattern_accumulators

    @property
    def pattern_row_vectors(self) -> int:
        """Vectors of one output row a pattern-conv register block takes at most.

        Taps of neighbouring rows read the same input vectors, so a taller block loads fewer
        vectors per FMA, while a wider one fetches each row's halo once. Where the FMA reads
        its input from memory (x86) a load costs no issue slot of its own and the halo wins:
        8 vectors. Where every input vector is a load instruction beside the FMAs (AArch64)
        the rows win: 4 vectors, and the accumulators left go to rows (5 x 4 on NEON; the
        llvm-mca comparison is in docs/targets.md). With 16 registers (AVX2) 5: a block of 5
        vectors leaves room for two rows in `pattern_wide_accumulators` (a block of 8 would
        be one row, whose taps share no input vectors)."""
        if not self.fma_memory_operand:
            return 4
        return 8 if self.vector_registers >= 24 else 5

    @functools.cached_property
    def gemm_block(self) -> tuple[int, int]:
        """(rows, vectors) of the dense GEMM register block.

        rows x vectors accumulators, one register per vector of the B tile and one for the
        broadcast A value must fit the file. Among blocks that fit and have at least
        `fma_in_flight` accumulators, the one with the most accumulators wins, then the one
        with the fewest loads per FMA ((rows + vectors) / (rows x vectors)). 32 registers
        give 6 x 4 (24 accumulators, 29 registers), 16 give 4 x 3 (12, 16).
        """
        best = None
        for rows in range(1, _GEMM_MAX_ROWS + 1):
            for vectors in range(1, _GEMM_MAX_VECTORS + 1):
                accumulators = rows * vectors
                if accumulators + vectors + 1 > self.vector_registers:
                    continue
                key = (accumulators, -(rows + vectors) / accumulators, vectors)
                if best is None or key > best[0]:
                    best = (key, (rows, vectors))
        if best is None or best[0][0] < self.fma_in_flight:
            raise ValueError(
                f"target {self.name}: no GEMM register block fits {self.vector_registers} registers"
            )
        return best[1]

    @property
    def gemm_accumulators(self) -> int:
        """Accumulators of any dense GEMM register block: those of `gemm_block`, which a block
        with fewer vectors (a short row, a narrow matmul) spends on more rows."""
        rows, vectors = self.gemm_block
        return rows * vectors

    @property
    def gemv_vectors(self) -> int:
        """Vectors per column tile when a GEMM has too few rows for a block (one row of
        accumulators, each B vector read once): as many as keep the FMA pipes busy."""
        return min(self.fma_in_flight, self.vector_registers // 2)

    @property
    def peak_accumulators(self) -> int:
        """Independent FMA chains of the peak probe: twice the pipes' need, leaving four
        registers for the loop's constants."""
        return min(2 * self.fma_in_flight, self.vector_registers - 4)

    @property
    def peak_flops_per_cycle(self) -> int:
        """f32 FLOPs per cycle of one core at the FMA issue limit."""
        return 2 * self.lanes * self.fma_units

    # ----- build -------------------------------------------------------------------------
    @property
    def mattr(self) -> str:
        """The features as llc's -mattr value."""
        return ",".join(self.features)

    def describe(self) -> str:
        """One line for reports: name, ISA and CPU."""
        tune = f", tuned for {self.tune_cpu}" if self.tune_cpu and self.tune_cpu != self.cpu else ""
        return (
            f"{self.name} ({self.isa}; {self.cpu}{tune})"
            if self.kind == "cpu"
            else f"{self.name} ({self.isa})"
        )

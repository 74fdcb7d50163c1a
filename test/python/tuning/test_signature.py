"""Layer signatures: stable keys, order-free libraries, and the same key from IR and arrays."""

import dataclasses
import json

import numpy as np
from mlir import ir
from mlir.dialects import func
from pattern_mlir.dialects import builders
from pattern_mlir.passes.registry import lookup
from pattern_mlir.passes.utils.conv_info import collect_ops
from pattern_mlir.tuning import LayerSignature, cpu_model, layer_from_arrays, layers_from_module
from pattern_mlir.tuning.layers import signature_of_op
from pattern_mlir.tuning_db.signature import library_key


def test_library_key_ignores_pattern_order(small_arrays):
    _, library, _ = small_arrays
    assert library_key(library) == library_key(library[::-1])
    assert library_key(library) != library_key(library[:3])


def test_key_fields(small_layer, small_arrays):
    sig = small_layer.signature
    assert sig.connectivity == 2.0 and sig.kept == 128
    assert (sig.out_height, sig.out_width) == (12, 20)
    key = sig.key()
    assert "c16 o16 12x20 s1,1 p1,1,1,1 d1,1" in key and "conn=2.0" in key
    assert f"cpu={cpu_model()}" in key and "kept" not in key
    assert LayerSignature.from_json(sig.to_json()) == sig
    # A few kernels more or less after retraining: same ratio, same key.
    assert LayerSignature.make(16, 16, 12, 20, 1, 1, 1, small_arrays[1], 129).key() == key


def test_thread_count_is_keyed_and_one_thread_keeps_the_old_key(small_layer):
    """Schedules tuned for 2 threads are another entry; the one-thread key has no thread
    field, so databases written before it keep their entries (and read back as 1 thread)."""
    sig = small_layer.signature
    assert sig.threads == 1 and "threads" not in sig.key()
    two = dataclasses.replace(sig, threads=2)
    assert two.key() == sig.key() + " threads=2" and "@2t" in two.shape_text()
    old = json.loads(sig.to_json())
    del old["threads"]
    assert LayerSignature.from_json(json.dumps(old)) == sig
    assert LayerSignature.from_json(two.to_json()) == two


def test_cpu_model_reads_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Test CPU\ncpu family\t: 6\nmodel\t\t: 1\n"
        "stepping\t: 2\nflags\t\t: fpu avx2 fma avx512f\n\nprocessor\t: 1\n"
    )
    assert cpu_model.__wrapped__(str(info)) == "Test CPU [6/1/2] avx512f+avx2+fma"


def test_signature_from_ir_equals_signature_from_arrays(small_arrays):
    """What the tuner stores (arrays) is what the pass looks up (IR after raise-conv)."""
    weights, library, assignment = small_arrays
    expected = layer_from_arrays(weights, library, assignment, 12, 20, 2, 1).signature
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.create()
        t = ir.RankedTensorType.get([1, 16, 12, 20], ir.F32Type.get())
        with ir.InsertionPoint(module.body):

            @func.FuncOp.from_py_func(t, name="forward")
            def forward(x):
                return builders.build_conv2d(
                    x, weights, builders.derive_library(weights), stride=2, padding=1
                )

        (op,) = collect_ops(module.operation, "pattern.conv2d")
        assert signature_of_op(op) == expected
        (layer,) = layers_from_module(module.operation)
        assert layer.signature == expected
        assert np.array_equal(layer.packed.offsets[-1:], [expected.kept])
        lookup("pattern-pack-fkw")().apply(module.operation)
        (op,) = collect_ops(module.operation, "pattern.packed_conv2d")
        assert signature_of_op(op) == expected

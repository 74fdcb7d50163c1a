"""The benchmark harness behind scripts/bench_layers.py, bench_models.py, bench_blocks.py and
bench_ops.py: one core, one adapter per peer runtime.

The protocol (docs/design.md section 9) runs every runtime in its own fresh process so that
thread pools, allocators and JITs of different runtimes never share an address space. The core
is what every benchmark shares: the worker process's arguments, timing loop and result line
(``worker``, ``timing``, ``protocol``), starting such a process (``process``), rounds of A B A B
with output checks and noise reruns (``rounds``, ``checks``), how busy the machine is
(``idle``), what it is (``machine``, ``fma_peak``), the committed compiler to measure
(``snapshot``), what is known of each peer without loading it (``peer_facts``), the ONNX
export recipe (``onnx_export``), the scripts' shared options (``cli``) and the report helpers
(``report``, ``plot``). ``peers/`` holds one module per
runtime (pattern, torch, ort, mnn, iree, litert, arm64); each runs a benchmarked *subject*,
a conv layer (``layer/``: synthetic pattern-pruned 3x3 convs) or a zoo model (``model/``: a
projected model prepared once on disk). Run a worker by hand with

    PYTHONPATH=scripts .venv/bin/python -m bench.peers.mnn --layer vgg_conv3_2
    PYTHONPATH=scripts .venv/bin/python -m bench.peers.ort --model resnet50 --root DIR
"""

"""Peer workers of the layer benchmark (scripts/bench_layers.py), one module per runtime.

The protocol (docs/design.md section 9) runs every runtime in its own fresh process so that
thread pools, allocators and JITs of different runtimes never share an address space. Each
``*_peer`` module is such a process: it rebuilds the layer from its name (deterministic seeds,
see ``layers``), times it at the requested thread counts and prints one JSON line. Run one by
hand with

    PYTHONPATH=scripts .venv/bin/python -m bench_peers.mnn_peer --layer vgg_conv3_2
"""

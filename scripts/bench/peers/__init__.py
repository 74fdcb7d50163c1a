"""One adapter per peer runtime, each a worker process (``python -m bench.peers.<peer>``).

An adapter sets up its runtime on a layer (``layer_setup``) and/or on a prepared zoo model
(``model_setup``) and hands both to ``bench.worker.run_worker``, which times them the same way
for every peer. LiteRT and IREE run whole models only; ``arm64`` is no timed peer but the
arm64-neon build of a model, checked once under qemu.
"""

"""Whole-model benchmark (scripts/bench_models.py), one module per job.

The layer benchmark's machinery (``bench_peers``) is reused by import: its timing loop, idle
wait, output check and machine description. What differs for whole models lives here: a
preparation process that projects a zoo model once and writes what every runtime loads
(weights, input, reference output, ONNX), one worker process per runtime that loads a
*model* rather than a layer, and the model report. Run a worker by hand with

    PYTHONPATH=scripts .venv/bin/python -m bench_models_lib.ort_model --model resnet50
"""

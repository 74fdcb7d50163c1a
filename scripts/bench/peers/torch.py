"""PyTorch eager, dense: the reference output and a dense peer, on a layer or a whole model.

Two variants, timed interleaved: ``nchw`` and ``channels_last`` (input and weights in NHWC
memory format, as a channels_last network would hold them; docs/design.md section 9).
The report takes the faster one per subject and thread count. The ``nchw`` output at one
thread is the reference every other runtime is checked against. (``import torch`` here is the
real torch: imports are absolute and the worker runs with ``-m``.)
"""

from __future__ import annotations

import torch

from ..worker import run_worker

_MODEL: dict = {}


def layouts(model, model_cl, x):
    """The two timed variants: NCHW, and channels_last weights and input."""
    xt = torch.from_numpy(x)
    xt_cl = xt.contiguous(memory_format=torch.channels_last)

    def nchw():
        with torch.inference_mode():
            return model(xt)

    def channels_last():
        with torch.inference_mode():
            return model_cl(xt_cl)

    return {"nchw": nchw, "channels_last": channels_last}


def layer_setup(data, threads, args):
    torch.set_num_threads(threads)
    layer = data.layer
    conv = torch.nn.Conv2d(
        layer.in_channels, layer.out_channels, 3, stride=layer.stride, padding=layer.padding
    ).eval()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(data.weights))
        conv.bias.copy_(torch.from_numpy(data.bias))
    conv_cl = torch.nn.Conv2d(
        layer.in_channels, layer.out_channels, 3, stride=layer.stride, padding=layer.padding
    ).eval()
    conv_cl.load_state_dict(conv.state_dict())
    conv_cl = conv_cl.to(memory_format=torch.channels_last)
    return layouts(conv, conv_cl, data.x)


def load_projected(files) -> torch.nn.Module:
    """The zoo model with the projected weights the preparation wrote (eval mode)."""
    from pattern_mlir import models

    model, _ = models.build(files.name)
    model.load_state_dict(torch.load(files.state, weights_only=True))
    return model.eval()


def model_setup(files, threads, args):
    torch.set_num_threads(threads)
    if not _MODEL:
        _MODEL["nchw"] = load_projected(files)
        _MODEL["cl"] = load_projected(files).to(memory_format=torch.channels_last)
    return layouts(_MODEL["nchw"], _MODEL["cl"], files.x)


def main() -> None:
    torch.set_num_interop_threads(1)
    run_worker(
        "torch",
        __doc__.splitlines()[0],
        layer=layer_setup,
        model=model_setup,
        as_array=lambda y: y.contiguous().numpy(),
        info=lambda: {"version": torch.__version__},
    )


if __name__ == "__main__":
    main()

"""PyTorch eager dense conv: the reference output and a dense peer.

Two variants, timed interleaved: ``nchw`` and ``channels_last`` (input and weights in NHWC
memory format, as a channels_last network would hold them; docs/design.md section 9).
The report takes the faster one per layer and thread count. The ``nchw`` output at one thread
is the reference every other runtime is checked against.
"""

from __future__ import annotations

import torch

from .worker import run_worker


def setup(data, threads, args):
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


def layouts(model, model_cl, x):
    """The two timed variants: NCHW, and channels_last weights and input (3-16 % faster)."""
    xt = torch.from_numpy(x)
    xt_cl = xt.contiguous(memory_format=torch.channels_last)

    def nchw():
        with torch.inference_mode():
            return model(xt)

    def channels_last():
        with torch.inference_mode():
            return model_cl(xt_cl)

    return {"nchw": nchw, "channels_last": channels_last}


def main() -> None:
    torch.set_num_interop_threads(1)
    run_worker(
        "torch",
        __doc__.splitlines()[0],
        setup,
        as_array=lambda y: y.contiguous().numpy(),
        info=lambda: {"version": torch.__version__},
    )


if __name__ == "__main__":
    main()

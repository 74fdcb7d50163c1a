"""The generated call path for torch tensors (runtime/tensor_call.py) against the checked
numpy path: same results for several inputs and outputs of several dtypes, fresh 64-byte
aligned results, bounds still checked, anything it does not take sent down the checked path,
and calls from several threads at once."""

from __future__ import annotations

import threading

import numpy as np
import pattern_mlir
import pytest
import torch
from pattern_mlir.runtime.memref_arguments import MemRefArguments
from pattern_mlir.runtime.tensor_call import tensor_call


class TwoInTwoOut(torch.nn.Module):
    """A float input and token ids in; a float map and an int64 argmax out."""

    def __init__(self):
        super().__init__()
        self.table = torch.nn.Embedding(20, 8)

    def forward(self, x, ids):
        mixed = torch.relu(x) + self.table(ids)
        return mixed * 2, mixed.argmax(1)


@pytest.fixture(scope="module")
def compiled():
    torch.manual_seed(0)
    model = TwoInTwoOut().eval()
    inputs = (torch.randn(5, 8), torch.randint(0, 20, (5,)))
    return model, inputs, pattern_mlir.compile(model, inputs)


def test_tensor_path_matches_numpy_path_and_torch(compiled):
    model, (x, ids), exe = compiled
    mixed, best = exe(x, ids)
    numpy_mixed, numpy_best = exe.run(x.numpy(), ids.numpy())
    np.testing.assert_array_equal(mixed.numpy(), numpy_mixed)
    np.testing.assert_array_equal(best.numpy(), numpy_best)
    with torch.no_grad():
        want_mixed, want_best = model(x, ids)
    torch.testing.assert_close(mixed, want_mixed, rtol=1e-6, atol=1e-6)
    assert best.dtype == torch.int64 and torch.equal(best, want_best)
    again = exe(x, ids)
    assert again[0].data_ptr() != mixed.data_ptr()
    assert all(t.data_ptr() % 64 == 0 and t.is_contiguous() for t in (*again, mixed, best))


def test_ids_out_of_range_are_refused_on_the_tensor_path(compiled):
    _, (x, ids), exe = compiled
    bad = ids.clone()
    bad[2] = 20
    with pytest.raises(ValueError, match=r"input 1 holds 20.*\[0, 20\)"):
        exe(x, bad)


@pytest.mark.parametrize(
    "change",
    [
        lambda x: x.double(),  # dtype: refused by the checked path
        lambda x: torch.cat([x, x], 1)[:, ::2],  # not contiguous: refused
        lambda x: x.numpy(),  # numpy: converted by the checked path
        lambda x: torch.nn.Parameter(x.clone()),  # a subclass: read like any tensor
    ],
)
def test_what_the_tensor_path_does_not_take_goes_down_the_checked_path(compiled, change):
    model, (x, ids), exe = compiled
    wrong = change(x)
    try:
        want = exe.run(wrong, ids)
    except (TypeError, ValueError) as refusal:
        with pytest.raises(type(refusal), match="input 0"):
            exe(wrong, ids)
        return
    got = exe(wrong, ids)
    np.testing.assert_array_equal(got[0].numpy(), want[0])


def test_calls_from_several_threads_each_get_their_own_results(compiled):
    _, (x, ids), exe = compiled
    torch.manual_seed(3)
    cases = [(torch.randn(5, 8), torch.randint(0, 20, (5,))) for _ in range(4)]
    wants = [exe.run(a.numpy(), b.numpy())[0] for a, b in cases]
    wrong: list[int] = []

    def worker(k):
        for _ in range(200):
            if not np.array_equal(exe(*cases[k])[0].numpy(), wants[k]):
                wrong.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_generated_path_for_no_inputs_and_several_outputs():
    """The text it writes for counts no model in the suite has: no input, three outputs."""
    from pattern_mlir.runtime.call_signature import TensorSpec

    outputs = [TensorSpec((2,)), TensorSpec((3, 1), "int64"), TensorSpec((1,), "int32")]
    arguments = MemRefArguments(outputs)
    seen: list[list[int]] = []

    def enter(block):
        seen.append([block.fields[slot] for slot in arguments.slots])

    call = tensor_call(torch, [], outputs, arguments, enter, lambda t, b: True)
    results = call(())
    assert [tuple(r.shape) for r in results] == [(2,), (3, 1), (1,)]
    assert [r.dtype for r in results] == [torch.float32, torch.int64, torch.int32]
    assert seen == [[r.data_ptr() for r in results]]
    assert call((torch.zeros(1),)) is None

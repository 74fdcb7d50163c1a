"""The compiler's numpy temporaries skip the huge-page hint, and only inside its scope."""

import numpy as np
from pattern_mlir.runtime.allocator import small_pages


def test_small_pages_turns_the_hint_off_and_restores_it():
    toggle = np._core.multiarray._set_madvise_hugepage  # returns the previous setting
    saved = toggle(True)
    try:
        with small_pages():
            assert toggle(False) is False  # off inside
        assert toggle(True) is True  # on again after
        try:
            with small_pages():
                raise KeyError("a failing pass")
        except KeyError:
            pass
        assert toggle(True) is True  # restored on errors too
    finally:
        toggle(saved)

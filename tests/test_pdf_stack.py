"""``advocacy.pdf`` runs WeasyPrint from a frame that starts a stack chunk of its own (CPython gh-142183)."""

from __future__ import annotations

import resource
import sys
import threading
from collections.abc import Callable

import pytest

from advocacy.pdf import _in_a_stack_chunk_of_its_own


def descend(depth: int) -> int:
    return descend(depth - 1) + 1 if depth else 0


def up_and_down_300_frames_500_times() -> int:
    """Like WeasyPrint laying out a page: deep recursion, back, again. 300 small frames span more than one 16 KiB
    chunk of the frame stack, so on CPython 3.11 every descent maps a chunk and every return unmaps it."""
    return sum(descend(300) for _ in range(500))


def page_faults_in_a_thread(work: Callable[[], int]) -> int:
    """Minor page faults while ``work`` runs in a thread of its own (like a dramatiq worker thread)."""
    faults: list[int] = []

    def run() -> None:
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        assert work() == 300 * 500
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return faults[0]


def test_deep_recursion_stays_in_one_chunk_instead_of_mapping_one_per_descent() -> None:
    if sys.version_info < (3, 13):  # the CPython behaviour worked around: a fresh chunk (and its pages) per descent
        assert page_faults_in_a_thread(up_and_down_300_frames_500_times) >= 500
    # The recursion fits in the room the padded frame's chunk leaves.
    assert page_faults_in_a_thread(lambda: _in_a_stack_chunk_of_its_own(up_and_down_300_frames_500_times)) < 100


def test_the_call_passes_arguments_results_and_errors_through() -> None:
    assert _in_a_stack_chunk_of_its_own(dict, [("a", 1)], fn="kept", b=2) == {"a": 1, "fn": "kept", "b": 2}
    with pytest.raises(ZeroDivisionError):
        _in_a_stack_chunk_of_its_own(divmod, 1, 0)

"""What a worker process is given besides its actors: dramatiq's prefetch from ``advocacy worker``, and the heap
frozen after each actor's first message (both measured in bench/letters.py; docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advocacy import PROJECT_DIR
from advocacy.broker import QUEUE_PREFETCH_PER_THREAD, worker_environment
from tests.helpers import background_process

REDIS_URL = "redis://127.0.0.1:6379/5"


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if b"=" in item)


def started_worker_environment(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    """Start ``advocacy worker --processes 1 --threads 2``, read the dramatiq process's environment once it is
    dramatiq (the command replaces itself with it), stop it."""
    env = {k: v for k, v in os.environ.items() if k != "dramatiq_queue_prefetch"}
    env.update({"ADVOCACY_BROKER_URL": REDIS_URL, "ADVOCACY_METRICS_PORT": "0", **extra})
    log_path = tmp_path / "worker.log"
    args = [str(Path(sys.executable).parent / "advocacy"), "worker", "--processes", "1", "--threads", "2"]
    with background_process(args, log_path, env) as process:
        deadline = time.monotonic() + 60
        while b"Worker process is ready for action." not in log_path.read_bytes():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert b"dramatiq" in Path(f"/proc/{process.pid}/cmdline").read_bytes()
        return environment_of(process.pid)


@pytest.mark.slow
def test_advocacy_worker_gives_dramatiq_its_prefetch_and_an_operators_value_wins(tmp_path: Path) -> None:
    ours = started_worker_environment(tmp_path, {})
    assert ours["dramatiq_queue_prefetch"] == str(2 * QUEUE_PREFETCH_PER_THREAD) == "8"
    theirs = started_worker_environment(tmp_path, {"dramatiq_queue_prefetch": "3"})
    assert theirs["dramatiq_queue_prefetch"] == "3"


def test_worker_environment_scales_with_threads() -> None:
    assert worker_environment(1) == {"dramatiq_queue_prefetch": "4"}
    assert worker_environment(3) == {"dramatiq_queue_prefetch": "12"}


# In a process of its own: freezing the test run's heap would pin its rows for good (advocacy/heap.py).
FREEZE_SCRIPT = """
import gc, json, sys
from types import SimpleNamespace
from advocacy import heap
if sys.argv[1] == "test-run":
    heap.never_freeze()
heap.freeze_boot_heap()
middleware = heap.FreezeWarmHeap()
counts = [gc.get_freeze_count()]
caches = []
for actor in ("render_letter", "render_letter", "send_alerts", "render_letter"):
    caches.append([[actor, n] for n in range(1000)])  # what a first run keeps (fonts, statements)
    middleware.after_process_message(None, SimpleNamespace(actor_name=actor))
    counts.append(gc.get_freeze_count())
print(json.dumps(counts))
"""


def freeze_counts(mode: str) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", FREEZE_SCRIPT, mode], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout
    counts: list[int] = json.loads(out.splitlines()[-1])
    return counts


def test_a_worker_freezes_what_each_actors_first_message_kept_and_only_then() -> None:
    boot, first, second, other, again = freeze_counts("worker")
    assert boot > 10_000  # the imported application
    assert first >= boot + 1000  # the first render_letter's caches joined the frozen heap
    assert second == first  # not again for the same actor
    assert other >= first + 1000  # another actor's first message
    assert again == other


def test_a_test_run_never_freezes() -> None:
    assert freeze_counts("test-run") == [0] * 5

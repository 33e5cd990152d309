"""Entry point for dramatiq worker processes: ``dramatiq worker`` or ``advocacy worker``.

It sets the broker from ADVOCACY_BROKER_URL, then imports every package's actors.
"""

import gc

import advocacy.actors
import advocacy.broker  # noqa: F401

# Everything imported above lives as long as the worker process (~180,000 objects). Frozen, it is no longer scanned
# by every full garbage collection: WeasyPrint allocates enough to trigger one every ~25 letters, and the scans
# cost ~4 ms of CPU per letter (bench/letters.py, docs/benchmarks.md). Import-time garbage is collected first.
gc.collect()
gc.freeze()

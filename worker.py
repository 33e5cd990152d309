"""Entry point for dramatiq worker processes: ``dramatiq worker`` or ``advocacy worker``.

It sets the broker from ADVOCACY_BROKER_URL, then imports every package's actors.
"""

import advocacy.actors
import advocacy.broker  # noqa: F401
from advocacy.heap import freeze_boot_heap

# Everything imported above lives as long as the worker process: frozen, full collections no longer scan it.
freeze_boot_heap()

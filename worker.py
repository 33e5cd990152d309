"""Entry point for dramatiq worker processes: ``dramatiq worker`` or ``advocacy worker``.

It sets the broker from ADVOCACY_BROKER_URL, then imports every package's actors.
"""

import dramatiq

import advocacy.actors
import advocacy.broker  # noqa: F401
from advocacy.heap import FreezeWarmHeap, freeze_boot_heap
from advocacy.letters import sender
from advocacy.settings import get_settings

# Everything imported above lives as long as the worker process: frozen, full collections no longer scan it; and
# what each actor's first message builds to keep (fonts, compiled statements, templates) is frozen after it.
freeze_boot_heap()
dramatiq.get_broker().add_middleware(FreezeWarmHeap())
# A letter's provider calls wait in threads of their own while the render thread goes on (advocacy/letters/sender.py).
sender.install(get_settings().letter_send_threads)
dramatiq.get_broker().add_middleware(sender.DrainSenderAtShutdown())

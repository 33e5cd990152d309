"""Entry point for dramatiq worker processes: ``dramatiq worker`` or ``advocacy worker``.

It sets the broker from ADVOCACY_BROKER_URL, then imports every package's actors.
"""

import advocacy.actors
import advocacy.broker  # noqa: F401

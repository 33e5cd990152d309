"""Imports every package's actors, declaring them on the broker. Imported by worker.py and the embedded worker."""

from advocacy import broker as _broker  # noqa: F401  (the broker is set before any actor is declared)
from advocacy.accounts import actors as _accounts_actors  # noqa: F401
from advocacy.campaigns import actors as _campaigns_actors  # noqa: F401
from advocacy.citipac import actors as _citipac_actors  # noqa: F401
from advocacy.letters import actors as letters_actors  # noqa: F401
from advocacy.participation import actors as _participation_actors  # noqa: F401
from advocacy.testimony import actors as _testimony_actors  # noqa: F401

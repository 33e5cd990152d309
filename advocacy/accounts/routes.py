"""Login, logout and the caller's own account. (Filled in by the accounts work.)"""

from __future__ import annotations

from typing import Any

route_handlers: list[Any] = []

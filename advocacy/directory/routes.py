"""Pages and API for the world we act on. (Filled in by the directory work.)"""

from __future__ import annotations

from typing import Any

route_handlers: list[Any] = []

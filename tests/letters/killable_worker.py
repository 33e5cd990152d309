"""A dramatiq broker module for the SIGKILL tests: the real ``worker.py`` (broker and every actor), pausing inside
``render_letter`` when ``ADVOCACY_TEST_PAUSE=render`` so the test can kill the process at that exact moment.

Run as ``python -m dramatiq tests.letters.killable_worker --queues letters``. The pause comes after the PDF is made
and before anything is committed, which is where a crash mid-render leaves a letter. (Mid-send needs no help here:
the fake SendGrid holds the request open.)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import worker  # noqa: F401  (sets the broker, then declares every actor)
from advocacy.letters import delivery
from advocacy.letters.document import LetterDocument

MARKER = Path(os.environ.get("ADVOCACY_TEST_MARKER", "/nonexistent/marker"))

if os.environ.get("ADVOCACY_TEST_PAUSE") == "render":
    _real_render = delivery.render_letter_pdf

    def _render_then_stall(doc: LetterDocument) -> bytes:
        pdf = _real_render(doc)
        MARKER.write_text("rendering")
        time.sleep(600)  # killed long before this ends
        return pdf

    delivery.render_letter_pdf = _render_then_stall

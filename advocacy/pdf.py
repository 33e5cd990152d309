"""HTML to PDF with WeasyPrint: a locked-down URL fetcher, tagged PDF/UA output, one font configuration per thread.

Two traps shape this module (TECH-NOTES §2):

* WeasyPrint's default fetcher reads ``file://`` and calls ``http(s)://``: a staff-edited template could read local
  files into the PDF (``<link rel="attachment">``) or make the server call internal addresses. ``SafeURLFetcher``
  answers only named in-memory assets, the project's own ``static/`` files and small ``data:`` URIs.
* Threads sharing one ``FontConfiguration`` corrupt memory or deadlock. Each thread gets its own (``threading.local``),
  and reuses it for every PDF it renders, which is where the speed comes from. Pre-parsed stylesheets are bound to
  their font configuration, so they are cached per thread too.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from advocacy import STATIC_DIR

__all__ = [
    "DATA_URI_MAX_BYTES",
    "PDF_VARIANT",
    "BlockedURLError",
    "SafeURLFetcher",
    "layout",
    "render_pdf",
    "write_pdf",
]

# WeasyPrint logs each of its seven steps at INFO. In a dramatiq worker (which logs at INFO) that is six lines per
# letter formatted, written and relayed by the master process: noise, and ~1 ms of CPU per letter (bench/letters.py).
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

#: Tagged, accessible PDF (DOMAIN.md §6.2): structure tree, document language, title shown by viewers.
PDF_VARIANT = "pdf/ua-1"
#: Largest decoded ``data:`` URI accepted. An uploaded seal is far smaller; anything bigger is refused.
DATA_URI_MAX_BYTES = 2 * 1024 * 1024
ASSET_SCHEME = "asset:"


class BlockedURLError(ValueError):
    """A URL the letter renderer refuses to fetch (WeasyPrint logs it and renders without the resource)."""


@dataclass
class _Refusals:
    urls: list[str] = field(default_factory=list)


class SafeURLFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint ships no type information
    """Fetch only what a letter may contain.

    * ``asset:NAME``: ``assets[NAME]`` (bytes and MIME type, e.g. the city's uploaded seal), otherwise the file
      ``static/NAME`` of this project (never outside ``static/``, symlinks resolved before the check);
    * ``data:`` URIs whose decoded size is at most ``max_data_bytes``;
    * everything else (``file:``, ``http(s):``, ``ftp:``, relative names, other schemes) is refused.

    Refused URLs are kept in ``refused`` so callers and tests can see what a template tried to load.
    """

    def __init__(
        self,
        assets: dict[str, tuple[bytes, str]] | None = None,
        *,
        static_dir: Path = STATIC_DIR,
        max_data_bytes: int = DATA_URI_MAX_BYTES,
        fail_on_errors: bool = False,
    ) -> None:
        # ``allowed_protocols={"data"}`` makes the parent class, used only for ``data:`` below, refuse anything else
        # even if this class had a bug; no redirects, short timeout for the same reason.
        super().__init__(timeout=1, allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=fail_on_errors)
        self.assets = dict(assets or {})
        self.static_dir = static_dir.resolve()
        self.max_data_bytes = max_data_bytes
        self._refusals = _Refusals()

    @property
    def refused(self) -> list[str]:
        return list(self._refusals.urls)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        try:
            if url.startswith(ASSET_SCHEME):
                return self._asset(url)
            if url[:5].lower() == "data:":
                self._check_data_size(url)
                return super().fetch(url, headers)
            raise BlockedURLError(f"blocked URL (only asset: and data: are allowed): {url[:100]}")
        except Exception:
            self._refusals.urls.append(url[:200])
            raise

    def _asset(self, url: str) -> URLFetcherResponse:
        name = url.removeprefix(ASSET_SCHEME)
        if name in self.assets:
            body, mimetype = self.assets[name]
            return URLFetcherResponse(url, body, {"Content-Type": mimetype})
        path = (self.static_dir / name).resolve()
        if not name or not path.is_relative_to(self.static_dir) or not path.is_file():
            raise BlockedURLError(f"unknown asset {name[:100]!r}")
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mimetype})

    def _check_data_size(self, url: str) -> None:
        # Base64 inflates by 4/3; the header ("data:image/png;base64,") is small. Checked before decoding so a huge
        # URI costs nothing.
        header, _, payload = url.partition(",")
        decoded = len(payload) * 3 // 4 if header.endswith(";base64") else len(payload)
        if decoded > self.max_data_bytes:
            raise BlockedURLError(f"data: URI of about {decoded} bytes exceeds the {self.max_data_bytes}-byte bound")


class _ThreadState(threading.local):
    """Per-thread WeasyPrint state: never shared across threads (TECH-NOTES §2, thread-safety)."""

    def __init__(self) -> None:
        self.font_config = FontConfiguration()
        self.stylesheets: dict[str, Any] = {}


_thread = _ThreadState()


def _stylesheet(css: str) -> Any:
    """The parsed stylesheet for ``css``, parsed once per thread (it holds a reference to the font configuration)."""
    key = hashlib.sha256(css.encode()).hexdigest()
    parsed = _thread.stylesheets.get(key)
    if parsed is None:
        # Stylesheets passed here are the project's own files; still use the safe fetcher for any url() inside.
        parsed = weasyprint.CSS(string=css, font_config=_thread.font_config, url_fetcher=SafeURLFetcher())
        _thread.stylesheets[key] = parsed
    return parsed


def _in_a_stack_chunk_of_its_own(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, called from a frame that starts a large chunk of CPython's frame stack (below)."""
    return fn(*args, **kwargs)


# CPython 3.11 keeps a thread's Python frames in chunks of 16 KiB and frees a chunk as soon as the calls in it return
# (gh-142183; 3.13 and 3.14 now keep one spare chunk). WeasyPrint's layout and drawing recurse up and down across
# such a boundary hundreds of times per letter, and each crossing is an mmap, a munmap and fresh page faults: ~900
# of each per letter in a dramatiq worker thread, ~6 ms of system time and 10-15 % of the rendering
# (docs/benchmarks.md). A frame larger than the room left in its chunk gets a new chunk of twice its size: this
# function's frame, padded with 8,192 unused local slots (64 KiB), starts a 128 KiB chunk, and WeasyPrint's deepest
# recursion fits in the other half, whatever the caller's depth. The price is one mmap per call.
_PADDING = tuple(f"_unused{i}" for i in range(8192))
_in_a_stack_chunk_of_its_own.__code__ = _in_a_stack_chunk_of_its_own.__code__.replace(
    co_varnames=_in_a_stack_chunk_of_its_own.__code__.co_varnames + _PADDING,
    co_nlocals=_in_a_stack_chunk_of_its_own.__code__.co_nlocals + len(_PADDING),
)


def layout(
    html: str,
    *,
    assets: dict[str, tuple[bytes, str]] | None = None,
    css: str | None = None,
    fetcher: SafeURLFetcher | None = None,
) -> Any:
    """Lay out ``html`` into pages (a ``weasyprint.Document``) without writing the PDF.

    ``css`` is an extra stylesheet (the letter's own), parsed once per thread. No ``base_url`` is given on purpose:
    relative URLs then resolve to nothing instead of to the file system.
    """
    url_fetcher = fetcher or SafeURLFetcher(assets)
    stylesheets = [_stylesheet(css)] if css else []
    return _in_a_stack_chunk_of_its_own(
        weasyprint.HTML(string=html, url_fetcher=url_fetcher).render,
        font_config=_thread.font_config,
        stylesheets=stylesheets,
        pdf_variant=PDF_VARIANT,
    )


def write_pdf(document: Any, *, title: str = "", lang: str = "en") -> bytes:
    """Write a laid-out document as a tagged PDF/UA-1 file; ``title``/``lang`` fill in what the HTML lacks."""
    if title:
        document.metadata.title = title
    if not document.metadata.lang:
        document.metadata.lang = lang
    pdf: bytes = _in_a_stack_chunk_of_its_own(document.write_pdf, pdf_variant=PDF_VARIANT)
    return pdf


def render_pdf(
    html: str,
    *,
    assets: dict[str, tuple[bytes, str]] | None = None,
    title: str = "",
    lang: str = "en",
    css: str | None = None,
) -> bytes:
    """Render ``html`` to a tagged PDF with embedded fonts, fetching only ``assets``, ``static/`` files and ``data:``.

    ``title`` overrides the HTML ``<title>`` in the PDF metadata; ``lang`` is used when ``<html>`` has no ``lang``.
    """
    return write_pdf(layout(html, assets=assets, css=css), title=title, lang=lang)

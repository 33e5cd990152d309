"""Baseline for the letters benchmark: how many one-page letters per second WeasyPrint alone turns into PDFs here.

The HTML of N letters (the six kinds in turn) is rendered first and not timed. Then:

* ``baseline``: ``weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")`` per letter, nothing shared,
  the CSS inline: what any caller gets from WeasyPrint with no tuning;
* ``document``: ``advocacy.letters.document.render_letter_pdf`` (template + WeasyPrint with the thread's font
  configuration and pre-parsed stylesheet), the path the letters pipeline uses.

Usage: ``.venv/bin/python bench/render_baseline.py [--count 50] [--json]``
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import weasyprint

from advocacy.letters.document import KINDS, example_document, render_letter_html, render_letter_pdf
from advocacy.pdf import PDF_VARIANT, SafeURLFetcher


def _rate(label: str, count: int, render: Callable[[int], bytes]) -> dict[str, float | str | int]:
    render(0)  # warm-up: font discovery, first layout
    start = time.perf_counter()
    for i in range(count):
        render(i)
    seconds = time.perf_counter() - start
    return {
        "name": label,
        "letters": count,
        "seconds": round(seconds, 3),
        "letters_per_second": round(count / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="letters per measurement (default 50)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args()

    documents = [example_document(KINDS[i % len(KINDS)]) for i in range(args.count)]
    pages = [render_letter_html(doc) for doc in documents]

    def baseline(i: int) -> bytes:
        html = weasyprint.HTML(string=pages[i % len(pages)], url_fetcher=SafeURLFetcher())
        pdf: bytes = html.write_pdf(pdf_variant=PDF_VARIANT)
        return pdf

    def document(i: int) -> bytes:
        return render_letter_pdf(documents[i % len(documents)])

    results = [_rate("baseline", args.count, baseline), _rate("document", args.count, document)]
    if args.json:
        print(json.dumps({"results": results}))
        return
    for result in results:
        print(
            f"{result['name']:>9}: {result['letters']} letters in {result['seconds']} s = "
            f"{result['letters_per_second']} letters/s"
        )


if __name__ == "__main__":
    main()

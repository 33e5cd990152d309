"""The letter as a PDF, with real WeasyPrint, read back with pypdf: content, one page, PDF/UA tagging, embedded fonts,
the seal and its alt text, and the locked-down URL fetcher (no file reads, no outbound requests)."""

from __future__ import annotations

import base64
import dataclasses
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from advocacy.letters.document import LetterDocument, example_document, render_letter_pdf
from advocacy.pdf import DATA_URI_MAX_BYTES, BlockedURLError, SafeURLFetcher, render_pdf

NORMAL_POINTS = [
    "Remote inspections let our building officials clear routine State Housing Law complaints in days rather than "
    "weeks, without asking tenants to take time off work to let an inspector in.",
    "Video inspections cut travel time for our code enforcement staff, which means more inspections per inspector "
    "and faster repairs for renters.",
    "The bill keeps in-person inspections available whenever a remote inspection cannot show the condition of a "
    "unit, so health and safety standards are not weakened.",
    "AB 1738 gives cities a clear legal basis for a practice many of us adopted during the pandemic, and it adds no "
    "unfunded mandate.",
]
NORMAL_NOTE = (
    "Since 2023 our Code Compliance Division has completed more than 1,200 video inspections, with an average time "
    "from complaint to first inspection of four days, compared with eleven days for in-person visits. Tenants tell "
    "us the option makes them more willing to report unsafe conditions."
)


def normal_letter(kind: str = "support", **changes: Any) -> LetterDocument:
    """A realistic letter: four talking points of two lines, a local note, four cc lines."""
    doc = dataclasses.replace(example_document(kind), talking_points=NORMAL_POINTS, local_note=NORMAL_NOTE)
    return dataclasses.replace(doc, **changes)


def seal_png() -> bytes:
    image = Image.new("RGBA", (160, 160), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 156, 156), outline=(31, 58, 95, 255), width=8)
    draw.ellipse((40, 40, 120, 120), fill=(180, 140, 40, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def with_seal(doc: LetterDocument) -> LetterDocument:
    return dataclasses.replace(doc, letterhead=dataclasses.replace(doc.letterhead, seal=seal_png()))


def pdf_text(reader: PdfReader) -> str:
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def struct_elements(reader: PdfReader) -> Iterator[Any]:
    """Every structure element of the tagged PDF (depth first)."""
    stack = [reader.trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = stack.pop().get_object()
        if not hasattr(node, "get"):
            continue
        if node.get("/Type") == "/StructElem" or "/S" in node:
            yield node
        kids = node.get("/K")
        if kids is None:
            continue
        kids = kids.get_object()
        stack.extend(kids if isinstance(kids, list) else [kids])


def figure_alts(reader: PdfReader) -> list[str]:
    return [str(el["/Alt"]) for el in struct_elements(reader) if el.get("/S") == "/Figure" and "/Alt" in el]


def image_count(reader: PdfReader) -> int:
    count = 0
    for page in reader.pages:
        xobjects = page.get("/Resources", {}).get("/XObject", {})
        count += sum(1 for ref in xobjects.values() if ref.get_object().get("/Subtype") == "/Image")
    return count


@pytest.fixture(scope="module")
def support_pdf() -> PdfReader:
    return PdfReader(io.BytesIO(render_letter_pdf(normal_letter("support"))))


def test_letter_text_is_real_and_complete(support_pdf: PdfReader) -> None:
    text = pdf_text(support_pdf)

    for expected in (
        "City of Sacramento".upper()[:1],  # small caps name: check the full name below via the metadata
        "The Honorable Juan Carrillo",
        "Chair, Assembly Committee on Local Government",
        "Dear Chair Carrillo:",
        "AB 1738 (Carrillo)",
        "SUPPORT",
        "as amended March 16, 2026",
        "Dana Example",
        "Mayor",
        "City of Sacramento",
        "Sincerely,",
        "Senator Angelique Ashby",
        "1,200 video inspections",
    ):
        assert expected in text, expected


def test_normal_letter_is_one_letter_size_page_without_page_numbers(support_pdf: PdfReader) -> None:
    assert len(support_pdf.pages) == 1
    box = support_pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)  # 8.5 x 11 in
    assert "Page 1" not in pdf_text(support_pdf)


@pytest.mark.parametrize("kind", ["oppose_unless_amended", "request_veto"])
def test_other_kinds_fit_on_one_page(kind: str) -> None:
    reader = PdfReader(io.BytesIO(render_letter_pdf(with_seal(normal_letter(kind)))))
    assert len(reader.pages) == 1
    assert normal_letter(kind).position_label.upper() in pdf_text(reader)


def test_long_letter_gets_page_numbers() -> None:
    long_note = "\n\n".join([NORMAL_NOTE] * 5)
    reader = PdfReader(
        io.BytesIO(render_letter_pdf(normal_letter(talking_points=NORMAL_POINTS * 2, local_note=long_note)))
    )

    assert len(reader.pages) == 2
    assert "Page 1 of 2" in (reader.pages[0].extract_text() or "")
    assert "Page 2 of 2" in (reader.pages[1].extract_text() or "")
    assert "Dana Example" in (reader.pages[1].extract_text() or "")


def test_pdf_ua_tagging_language_and_title(support_pdf: PdfReader) -> None:
    root = support_pdf.trailer["/Root"]

    assert str(root["/MarkInfo"]["/Marked"]).lower() == "true"
    assert "/StructTreeRoot" in root
    assert str(root["/Lang"]) == "en"
    assert support_pdf.metadata is not None
    assert support_pdf.metadata.title == "AB 1738 — Support — City of Sacramento"
    assert str(root["/ViewerPreferences"]["/DisplayDocTitle"]).lower() == "true"
    tags = {str(el["/S"]) for el in struct_elements(support_pdf)}
    assert {"/P", "/L", "/LI"} <= tags


def test_fonts_are_embedded(support_pdf: PdfReader) -> None:
    fonts = support_pdf.pages[0]["/Resources"]["/Font"]
    assert fonts
    names = set()
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)[
            "/FontDescriptor"
        ]
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()), font["/BaseFont"]
        names.add(str(font["/BaseFont"]).split("+")[-1])
    assert "Carlito" in names


def test_seal_image_with_alt_text() -> None:
    reader = PdfReader(io.BytesIO(render_letter_pdf(with_seal(normal_letter()))))

    assert image_count(reader) == 1
    assert "Seal of the City of Sacramento" in figure_alts(reader)
    assert len(reader.pages) == 1


def test_default_emblem_is_labelled_and_no_image(support_pdf: PdfReader) -> None:
    assert image_count(support_pdf) == 0
    assert "City of Sacramento monogram" in figure_alts(support_pdf)


def test_local_note_markup_is_printed_as_text_not_run() -> None:
    reader = PdfReader(io.BytesIO(render_letter_pdf(normal_letter(local_note='<b>Bold?</b> <img src="x"> & more'))))
    assert '<b>Bold?</b> <img src="x"> & more' in pdf_text(reader)


# --- URL fetching: nothing outside the allow-list ---------------------------------------------------------------------


class CountingServer:
    """A local HTTP server that counts every request it receives."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                body = b"body { color: red }" if self.path.endswith(".css") else b"secret-from-server"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def hostile_markup(url: str) -> str:
    return (
        f'<link rel="stylesheet" href="{url}/evil.css">\n'
        f'<link rel="attachment" href="{url}/attach.txt">\n'
        '<link rel="attachment" href="file:///etc/passwd">\n'
        f'<style>@import url("{url}/import.css"); p {{ background: url({url}/bg.png) }}</style>\n'
        f'<p style="background-image: url(file:///etc/hostname)">Hello <img src="{url}/pixel.png" alt="x"></p>\n'
        '<img src="file:///etc/passwd" alt="y"> <img src="ftp://127.0.0.1/x.png" alt="z">\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="{url}/svg.png" width="10" '
        'height="10"/></svg>\n'
        '<img src="asset:../pyproject.toml" alt="t"> <img src="../pyproject.toml" alt="r">\n'
        "<p>{{ bill.label }} [CITY-SPECIFIC IMPACT]</p>"
    )


def assert_nothing_leaked(pdf: bytes, server: CountingServer) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    assert server.requests == []
    assert "/EmbeddedFiles" not in reader.trailer["/Root"].get("/Names", {})
    assert reader.attachments == {}
    assert image_count(reader) == 0
    text = pdf_text(reader)
    assert "root:" not in text and "secret-from-server" not in text
    assert b"root:x:0:0" not in pdf


def test_staff_template_cannot_fetch_files_or_urls() -> None:
    with CountingServer() as server:
        doc = example_document(template_source=hostile_markup(server.url))
        pdf = render_letter_pdf(doc)

        assert_nothing_leaked(pdf, server)
        assert "AB 1738 [CITY-SPECIFIC IMPACT]" in pdf_text(PdfReader(io.BytesIO(pdf)))


def test_render_pdf_refuses_everything_but_assets_static_and_small_data() -> None:
    with CountingServer() as server:
        html = (
            '<!doctype html><html lang="en"><head><title>t</title></head>'
            f"<body>{hostile_markup(server.url)}</body></html>"
        )
        pdf = render_pdf(html, title="Hostile")

        assert_nothing_leaked(pdf, server)
        assert PdfReader(io.BytesIO(pdf)).metadata.title == "Hostile"


def test_fetcher_allow_list() -> None:
    png = seal_png()
    fetcher = SafeURLFetcher({"seal": (png, "image/png")})

    assert fetcher.fetch("asset:seal").read() == png
    assert fetcher.fetch("asset:css/site.css").read().strip()  # the project's own static file
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1:1/x",
        "https://example.org/x",
        "ftp://127.0.0.1/x",
        "asset:../pyproject.toml",
        "asset:/etc/passwd",
        "asset:",
        "asset:missing.png",
        "../pyproject.toml",
        "javascript:alert(1)",
    ):
        with pytest.raises(BlockedURLError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 10


def test_data_uri_over_the_bound_is_refused() -> None:
    payload = base64.b64encode(b"\0" * (DATA_URI_MAX_BYTES + 1024)).decode()
    with pytest.raises(BlockedURLError, match="exceeds"):
        SafeURLFetcher().fetch(f"data:image/png;base64,{payload}")

    small = base64.b64encode(seal_png()).decode()
    html = (
        '<!doctype html><html lang="en"><head><title>t</title></head><body>'
        f'<img src="data:image/png;base64,{payload}" alt="big"><img src="data:image/png;base64,{small}" alt="small">'
        "</body></html>"
    )
    assert image_count(PdfReader(io.BytesIO(render_pdf(html)))) == 1  # the small one only


# --- threads -------------------------------------------------------------------------------------------------------


def test_concurrent_rendering_in_four_threads() -> None:
    kinds = ["support", "oppose", "request_signature", "support_if_amended"]
    results: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def render(kind: str) -> None:
        try:
            for _ in range(2):  # twice: the second reuses the thread's font configuration and stylesheet
                results[kind] = render_letter_pdf(with_seal(normal_letter(kind)))
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(kind,)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == [] and not any(thread.is_alive() for thread in threads)
    for kind in kinds:
        reader = PdfReader(io.BytesIO(results[kind]))
        assert len(reader.pages) == 1
        assert normal_letter(kind).position_label.upper() in pdf_text(reader)

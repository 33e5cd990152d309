"""The position letter as a document: HTML from a Jinja template on the city's letterhead, and its PDF.

Templates live in ``templates/letters/``: ``_base.html`` (letterhead, addressee, RE line, salutation, closing,
signature, cc) includes one body per letter kind, ``<kind>/body.html``, or a staff-edited body
(``LetterDocument.template_source``). Bodies render in a sandboxed Jinja2 environment with ``StrictUndefined`` and
autoescape; the variables a body may use are the ``LetterDocument`` fields (``letterhead``, ``letter_date``,
``addressee``, ``bill``, ``position_label``, ``talking_points``, ``signer``, ``cc``, ``local_note``,
``committee_name``, ``hearing_date``, ``league_name``, ``kind``) and these filters:

* ``long_date``: ``date`` → "March 16, 2026";
* ``version_phrase``: ``BillRef`` → "as amended March 16, 2026" (empty when the version is unknown);
* ``paragraphs``: plain text → escaped ``<p>`` paragraphs (blank lines split paragraphs, single newlines break lines).

The stylesheet is ``templates/letters/letter.css``. Its fonts are found by fontconfig family name and embedded
(subset) in the PDF: Carlito (Debian ``fonts-crosextra-carlito``), Liberation Serif (``fonts-liberation2``), with
DejaVu (``fonts-dejavu-core``) as the fallback; no font files are shipped.
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from advocacy import TEMPLATES_DIR
from advocacy.pdf import DATA_URI_MAX_BYTES, layout, write_pdf

__all__ = [
    "KINDS",
    "SEAL_MAX_BYTES",
    "Addressee",
    "BillRef",
    "LetterDocument",
    "Letterhead",
    "Signer",
    "TemplateError",
    "example_document",
    "render_letter_html",
    "render_letter_pdf",
    "unfilled_placeholders",
]

LETTERS_DIR = TEMPLATES_DIR / "letters"
#: Letter kinds: each is a folder ``templates/letters/<kind>/`` holding ``body.html``.
KINDS = ("support", "oppose", "support_if_amended", "oppose_unless_amended", "request_signature", "request_veto")
#: Largest seal or logo the letterhead accepts (it travels as a data: URI in the HTML preview).
SEAL_MAX_BYTES = DATA_URI_MAX_BYTES
SEAL_MIMETYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")


@dataclass(frozen=True)
class Letterhead:
    """The sending city."""

    city_name: str  # "Sacramento"
    official_name: str  # "City of Sacramento", "Town of Apple Valley"
    address_lines: list[str] = field(default_factory=list)
    seal: bytes | None = None  # uploaded seal or logo
    seal_mimetype: str = "image/png"


@dataclass(frozen=True)
class Addressee:
    name: str  # "The Honorable Juan Carrillo"
    role_line: str  # "Chair, Assembly Committee on Local Government"
    address_lines: list[str]  # Capitol address lines
    salutation: str  # "Dear Chair Carrillo:"
    # Further people the letter is addressed to, each a name and its role line, printed under the first (a letter to
    # the city's Assembly member and Senator at once).
    also: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Signer:
    name: str
    title: str  # "Mayor"
    city_name: str  # printed under the title; the bare city name is replaced by the letterhead's official name
    email: str = ""


@dataclass(frozen=True)
class BillRef:
    label: str  # "AB 1738"
    title: str
    author: str = ""
    version_date: date | None = None
    version_label: str = ""  # "as amended" | "as introduced" | "as enrolled"


@dataclass(frozen=True)
class LetterDocument:
    kind: str  # one of KINDS
    letterhead: Letterhead
    letter_date: date
    addressee: Addressee
    bill: BillRef
    position_label: str  # "Support", "Oppose Unless Amended", "Request for Signature"
    talking_points: list[str]
    signer: Signer
    cc: list[str]
    local_note: str = ""  # plain text from the official: always escaped
    committee_name: str = ""  # empty for the Governor
    hearing_date: date | None = None
    league_name: str = "League of California Cities"
    template_source: str | None = None  # staff-edited body template replacing ``<kind>/body.html``
    template_version_id: int | None = None  # that template's version, for the letter to record (None: file template)

    @property
    def pdf_title(self) -> str:
        """The PDF's title metadata: "AB 1738 — Support — City of Sacramento"."""
        return f"{self.bill.label} — {self.position_label} — {self.letterhead.official_name}"


#: Bumped when the stored form of a document changes; a letter stored in another form is composed again.
STORED_FORMAT = 1


def stored_document(doc: LetterDocument) -> str:
    """The document as JSON, kept on the letter when it is queued: the PDF is then made from exactly what the signer
    sent, whatever staff or the data change later. The seal's bytes stay in the city's storage, not in the JSON."""
    data = asdict(doc)
    del data["letterhead"]["seal"], data["letterhead"]["seal_mimetype"]
    return json.dumps({"format": STORED_FORMAT, **data}, default=date.isoformat, ensure_ascii=False)


def document_from_stored(text: str, seal: bytes | None, seal_mimetype: str) -> LetterDocument | None:
    """``stored_document`` read back, with the city's seal; None when ``text`` is empty or of another format."""
    data = json.loads(text) if text else {}
    if data.pop("format", None) != STORED_FORMAT:
        return None
    addressee, bill = data["addressee"], data["bill"]
    return LetterDocument(
        **{
            **data,
            "letterhead": Letterhead(**data["letterhead"], seal=seal, seal_mimetype=seal_mimetype),
            "letter_date": date.fromisoformat(data["letter_date"]),
            "addressee": Addressee(**{**addressee, "also": [tuple(pair) for pair in addressee["also"]]}),
            "bill": BillRef(**{**bill, "version_date": _date_or_none(bill["version_date"])}),
            "signer": Signer(**data["signer"]),
            "hearing_date": _date_or_none(data["hearing_date"]),
        }
    )


def _date_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class TemplateError(ValueError):
    """A letter template that cannot render: syntax error, undefined variable, forbidden operation.

    ``line`` is the line in the failing template (the staff-edited body when there is one), or None if unknown.
    """

    def __init__(self, message: str, *, line: int | None = None, template: str = "") -> None:
        self.line = line
        self.template = template
        self.detail = message
        where = f"line {line}: " if line else ""
        super().__init__(f"Letter template error, {where}{message}")


# --- Jinja environments -------------------------------------------------------------------------------------------


def _long_date(value: date | None) -> str:
    return f"{value:%B} {value.day}, {value.year}" if value else ""


def _version_phrase(bill: BillRef) -> str:
    if not bill.version_label:
        return ""
    when = _long_date(bill.version_date)
    return f"{bill.version_label} {when}".strip()


def _paragraphs(text: str) -> Markup:
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if block.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in block.split("\n"))) for block in blocks
    )


def _configure(env: SandboxedEnvironment) -> SandboxedEnvironment:
    env.filters.update(long_date=_long_date, version_phrase=_version_phrase, paragraphs=_paragraphs)
    return env


_PROJECT_ENV = _configure(
    SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(LETTERS_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
)
# Staff-edited bodies get no loader: {% include %}, {% import %} and {% extends %} can reach nothing.
_STAFF_ENV = _configure(
    SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
)
STAFF_TEMPLATE_NAME = "<staff body>"


def _error_line(exc: BaseException, template_name: str) -> int | None:
    """The template line of a runtime error: Jinja rewrites tracebacks so template frames carry template lines."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == template_name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@lru_cache(maxsize=64)
def _compile_staff_body(source: str) -> jinja2.Template:
    try:
        code = _STAFF_ENV.compile(source, name=STAFF_TEMPLATE_NAME, filename=STAFF_TEMPLATE_NAME)
        return _STAFF_ENV.template_class.from_code(_STAFF_ENV, code, _STAFF_ENV.make_globals(None))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "syntax error", line=exc.lineno, template=STAFF_TEMPLATE_NAME) from None


@lru_cache(maxsize=1)
def letter_css() -> str:
    """The letter stylesheet (``templates/letters/letter.css``), read once per process."""
    return (LETTERS_DIR / "letter.css").read_text(encoding="utf-8")


def _body_template(doc: LetterDocument) -> jinja2.Template:
    if doc.kind not in KINDS:
        raise TemplateError(f"unknown letter kind {doc.kind!r}; expected one of {', '.join(KINDS)}")
    if doc.template_source is not None:
        return _compile_staff_body(doc.template_source)
    return _PROJECT_ENV.get_template(f"{doc.kind}/body.html")


_NOT_VARIABLES = frozenset({"template_source", "template_version_id"})


def _context(doc: LetterDocument) -> dict[str, Any]:
    # The documented variables are the dataclass fields (not the template's own source and version); shallow, so
    # nested dataclasses stay objects with attributes (asdict would turn them into dicts).
    return {f.name: getattr(doc, f.name) for f in fields(doc) if f.name not in _NOT_VARIABLES}


def _seal_src(doc: LetterDocument, *, for_pdf: bool) -> str:
    letterhead = doc.letterhead
    if letterhead.seal is None:
        return ""
    if len(letterhead.seal) > SEAL_MAX_BYTES:
        raise ValueError(f"the seal image is {len(letterhead.seal)} bytes; at most {SEAL_MAX_BYTES} are accepted")
    if letterhead.seal_mimetype not in SEAL_MIMETYPES:
        raise ValueError(f"unsupported seal image type {letterhead.seal_mimetype!r}")
    if for_pdf:
        return "asset:seal"  # served from memory by SafeURLFetcher, no base64 round trip
    return f"data:{letterhead.seal_mimetype};base64,{base64.b64encode(letterhead.seal).decode('ascii')}"


def _render(doc: LetterDocument, *, for_pdf: bool, multipage: bool = False) -> str:
    body = _body_template(doc)
    base = _PROJECT_ENV.get_template("_base.html")
    context = _context(doc)
    context.update(
        body_template=body,
        seal_src=_seal_src(doc, for_pdf=for_pdf),
        # In the PDF the stylesheet is passed pre-parsed; the HTML preview carries it inline.
        inline_css=Markup(letter_css()) if not for_pdf else "",  # noqa: S704  # our own file, not user input
        pdf_title=doc.pdf_title,
        multipage=multipage,
        signer_org=_signer_org(doc),
    )
    try:
        return base.render(context)
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "syntax error", line=exc.lineno, template=exc.name or "") from None
    except jinja2.TemplateError as exc:  # UndefinedError, SecurityError, TemplateNotFound …
        name = STAFF_TEMPLATE_NAME if doc.template_source is not None else body.filename or ""
        raise TemplateError(str(exc), line=_error_line(exc, name), template=name) from None
    except (RecursionError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        name = STAFF_TEMPLATE_NAME if doc.template_source is not None else body.filename or ""
        raise TemplateError(f"{type(exc).__name__}: {exc}", line=_error_line(exc, name), template=name) from None


def _signer_org(doc: LetterDocument) -> str:
    name = doc.signer.city_name.strip()
    if not name or name == doc.letterhead.city_name:
        return doc.letterhead.official_name
    return name


# --- public API -----------------------------------------------------------------------------------------------------


def render_letter_html(doc: LetterDocument) -> str:
    """The full, self-contained HTML letter (inline CSS, seal as data: URI), e.g. for an ``<iframe srcdoc>``."""
    return _render(doc, for_pdf=False)


_TAG_RE = re.compile(r"<(script|style|title)\b.*?</\1\s*>|<[^>]+>", re.IGNORECASE | re.DOTALL)
# ALL-CAPS bracketed placeholders ("[CITY-SPECIFIC IMPACT]", "[NAME]") and leftover template syntax. At least two
# characters and one letter, so "[1]" or "[A]" footnote marks are not taken for placeholders.
_PLACEHOLDER_RE = re.compile(
    r"\[(?=[^\]]*[A-Z])[A-Z0-9][A-Z0-9 _/&'\u2019.,:;#()\-]*[A-Z0-9)]\]|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL
)


def unfilled_placeholders(doc: LetterDocument) -> list[str]:
    """Placeholders left in the rendered letter, in order, without repeats (DOMAIN.md §1.9: sending is blocked
    while any remain). Raises ``TemplateError`` if the template does not render."""
    text = html.unescape(_TAG_RE.sub(" ", _render(doc, for_pdf=False)))
    found: list[str] = []
    for match in _PLACEHOLDER_RE.finditer(text):
        placeholder = " ".join(match.group(0).split())
        if placeholder not in found:
            found.append(placeholder)
    return found


def render_letter_pdf(doc: LetterDocument) -> bytes:
    """The letter as a tagged PDF/UA-1 on US Letter; a page footer with page numbers appears only past one page."""
    assets = {"seal": (doc.letterhead.seal, doc.letterhead.seal_mimetype)} if doc.letterhead.seal else None
    css = letter_css()
    document = layout(_render(doc, for_pdf=True), assets=assets, css=css)
    if len(document.pages) > 1:
        # Page numbers only when there is more than one page; CSS alone cannot say "if pages > 1", so the rare long
        # letter is laid out a second time with the numbered page style.
        document = layout(_render(doc, for_pdf=True, multipage=True), assets=assets, css=css)
    return write_pdf(document, title=doc.pdf_title, lang="en")


POSITION_LABELS = {
    "support": "Support",
    "oppose": "Oppose",
    "support_if_amended": "Support if Amended",
    "oppose_unless_amended": "Oppose Unless Amended",
    "request_signature": "Request for Signature",
    "request_veto": "Request for Veto",
}


def example_document(kind: str = "support", *, template_source: str | None = None) -> LetterDocument:
    """A complete sample letter of ``kind`` (real city and legislators, plainly fictional signer).

    Staff-edited bodies can be checked before they are saved by rendering them into this sample:
    ``render_letter_html(example_document(kind, template_source=source))`` raises ``TemplateError`` on any mistake.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown letter kind {kind!r}; expected one of {', '.join(KINDS)}")
    to_governor = kind in ("request_signature", "request_veto")
    if to_governor:
        addressee = Addressee(
            "The Honorable Gavin Newsom",
            "Governor, State of California",
            ["1021 O Street, Suite 9000", "Sacramento, CA 95814"],
            "Dear Governor Newsom:",
        )
    else:
        addressee = Addressee(
            "The Honorable Juan Carrillo",
            "Chair, Assembly Committee on Local Government",
            ["1021 O Street, Room 5610", "Sacramento, CA 95814"],
            "Dear Chair Carrillo:",
        )
    return LetterDocument(
        kind=kind,
        letterhead=Letterhead("Sacramento", "City of Sacramento", ["915 I Street", "Sacramento, CA 95814"]),
        letter_date=date(2026, 3, 20),
        addressee=addressee,
        bill=BillRef(
            "AB 1738",
            "State Housing Law: remote inspections",
            "Carrillo",
            date(2026, 3, 16),
            "as enrolled" if to_governor else "as amended",
        ),
        position_label=POSITION_LABELS[kind],
        talking_points=[
            "Remote inspections let building officials resolve routine housing complaints in days rather than weeks.",
            "Tenants no longer need to take time off work to let an inspector in for a simple follow-up visit.",
            "In-person inspections remain available whenever a video inspection cannot show a unit's condition.",
        ],
        signer=Signer("Dana Example", "Mayor", "Sacramento", "dana.example@example.org"),
        cc=[
            "Assemblymember Maggy Krell",
            "Senator Angelique Ashby",
            "Regional Public Affairs Manager, League of California Cities",
            "League of California Cities",
        ],
        local_note="Our code compliance staff completed more than 1,200 video inspections last year.",
        committee_name="" if to_governor else "Assembly Committee on Local Government",
        hearing_date=None if to_governor else date(2026, 4, 1),
        template_source=template_source,
    )

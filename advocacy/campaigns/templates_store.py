"""Staff-edited letter templates, kept in the database and versioned, beside the file templates of
``templates/letters/<kind>/body.html``.

A template is a letter body for one letter kind. Every save makes a new numbered version (old versions never change:
campaigns and letters point at the version they used). Bodies render exactly as the file templates do, through
``advocacy.letters.document``: a Jinja2 ``SandboxedEnvironment`` with ``StrictUndefined`` and autoescape, and no
loader, so ``{% include %}`` and friends reach nothing. A body is checked before it is saved by rendering it into a
complete sample letter; syntax errors, undefined variables and anything the sandbox refuses come back with their line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session, col, func, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.console_models import LetterTemplate, LetterTemplateVersion
from advocacy.db import utcnow
from advocacy.directory.models import Bill, City
from advocacy.letters.document import (
    KINDS,
    LETTERS_DIR,
    LetterDocument,
    TemplateError,
    example_document,
    render_letter_html,
    render_letter_pdf,
)

MAX_SOURCE_CHARS = 20_000  # a letter body is one page of text; this is generous and bounds the preview's cost

#: The variables a body may use (the ``LetterDocument`` fields), as the editor documents them.
VARIABLES: list[tuple[str, str]] = [
    ("letterhead.city_name / letterhead.official_name", "The city: “Sacramento” / “City of Sacramento”"),
    ("signer.name, signer.title, signer.city_name", "Who signs: “Dana Example”, “Mayor”, “Sacramento”"),
    ("bill.label, bill.title, bill.author", "The bill: “AB 1738”, its title, its author's name"),
    ("bill|version_phrase", "The version the letter is about: “as amended March 16, 2026”"),
    ("committee_name", "The committee now hearing the bill (empty for the Governor)"),
    ("position_label", "The league's position: “Support”, “Oppose Unless Amended” …"),
    ("hearing_date|long_date", "The hearing date, if known: “April 1, 2026” (test it: it may be empty)"),
    ("talking_points", "The campaign's talking points, a list: {% for p in talking_points %}…{% endfor %}"),
    ("local_note|paragraphs", "The official's local-impact paragraph, escaped, as <p> paragraphs"),
    ("addressee.name, addressee.salutation", "“The Honorable …”, “Dear Chair …:” (the letter's base prints them)"),
    ("letter_date|long_date", "The letter's date"),
    ("league_name", "“League of California Cities”"),
    ("cc", "The copy list (printed by the letter's base)"),
    ("kind", "The letter kind: support, oppose, …"),
]


class TemplateStoreError(ValueError):
    """A template that cannot be saved or previewed; ``line`` points into the body when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class TemplateRow:
    template: LetterTemplate
    latest: LetterTemplateVersion


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise TemplateStoreError(f"Unknown letter kind {kind!r}; choose one of {', '.join(KINDS)}.")
    return kind


def explain(exc: TemplateError) -> TemplateStoreError:
    """A template error in words for the person editing, with its line."""
    detail = exc.detail.rstrip(".")
    if "unsafe" in detail or "SecurityError" in detail:
        message = f"Letter templates may not do this: {detail}. Use only the documented variables and filters."
    elif "undefined" in detail:
        message = f"Unknown variable: {detail}. The documented variables are listed beside the editor."
    else:
        message = f"The template does not render: {detail}."
    where = f"Line {exc.line}: " if exc.line else ""
    return TemplateStoreError(where + message, exc.line)


def check_source(kind: str, source: str) -> None:
    """Render ``source`` into a complete sample letter of ``kind``; ``TemplateStoreError`` on any problem."""
    _check_kind(kind)
    if not source.strip():
        raise TemplateStoreError("The template is empty.")
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateStoreError(f"The template is {len(source):,} characters long; at most {MAX_SOURCE_CHARS:,}.")
    try:
        render_letter_html(example_document(kind, template_source=source))
        # A letter with no local note and no hearing date must render too: the sample has both.
        render_letter_html(replace(example_document(kind, template_source=source), local_note="", hearing_date=None))
    except TemplateError as exc:
        raise explain(exc) from None


def file_source(kind: str) -> str:
    """The file template's body, the usual starting point of a staff template."""
    return (LETTERS_DIR / _check_kind(kind) / "body.html").read_text(encoding="utf-8")


def create_template(
    session: Session, *, name: str, kind: str, source: str, user: User | None, description: str = "", note: str = ""
) -> LetterTemplateVersion:
    """A new template and its version 1 (checked first). Commits."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 120:
        raise TemplateStoreError("Give the template a name of at most 120 characters.")
    if session.exec(select(LetterTemplate).where(func.lower(LetterTemplate.name) == name.lower())).first():
        raise TemplateStoreError(f"A template named {name!r} already exists.")
    check_source(kind, source)
    template = LetterTemplate(
        name=name, kind=kind, description=description.strip()[:500], created_by_id=user.id if user else None
    )
    session.add(template)
    session.flush()
    version = _add_version(session, template, source, user, note or "first version", number=1)
    session.commit()
    return version


def _add_version(
    session: Session, template: LetterTemplate, source: str, user: User | None, note: str, *, number: int
) -> LetterTemplateVersion:
    version = LetterTemplateVersion(
        template_id=template.id or 0,
        number=number,
        source=source,
        note=note.strip()[:300],
        created_by_id=user.id if user else None,
        created_at=utcnow(),
    )
    session.add(version)
    session.flush()
    return version


def save_version(
    session: Session, template_id: int, source: str, user: User | None, note: str = ""
) -> LetterTemplateVersion:
    """Save ``source`` as the template's next version (checked first); an unchanged text saves nothing. Commits."""
    template = get_template(session, template_id)
    check_source(template.kind, source)
    latest = latest_version(session, template_id)
    if latest.source == source:
        return latest
    version = _add_version(session, template, source, user, note, number=latest.number + 1)
    session.commit()
    return version


def get_template(session: Session, template_id: int) -> LetterTemplate:
    template = session.get(LetterTemplate, template_id)
    if template is None:
        raise TemplateStoreError(f"There is no template with id {template_id}.")
    return template


def get_version(session: Session, version_id: int) -> LetterTemplateVersion:
    version = session.get(LetterTemplateVersion, version_id)
    if version is None:
        raise TemplateStoreError(f"There is no template version with id {version_id}.")
    return version


def latest_version(session: Session, template_id: int) -> LetterTemplateVersion:
    version = session.exec(
        select(LetterTemplateVersion)
        .where(LetterTemplateVersion.template_id == template_id)
        .order_by(col(LetterTemplateVersion.number).desc())
    ).first()
    if version is None:
        raise TemplateStoreError(f"Template {template_id} has no saved version.")
    return version


def versions_of(session: Session, template_id: int) -> list[LetterTemplateVersion]:
    return list(
        session.exec(
            select(LetterTemplateVersion)
            .where(LetterTemplateVersion.template_id == template_id)
            .order_by(col(LetterTemplateVersion.number).desc())
        ).all()
    )


def list_templates(session: Session, kind: str | None = None) -> list[TemplateRow]:
    query = select(LetterTemplate).where(col(LetterTemplate.archived).is_(False))
    if kind:
        query = query.where(LetterTemplate.kind == kind)
    templates = session.exec(query.order_by(col(LetterTemplate.kind), col(LetterTemplate.name))).all()
    return [TemplateRow(t, latest_version(session, t.id or 0)) for t in templates]


# ----------------------------------------------------------------------------------------------- previews


def preview_document(
    session: Session,
    *,
    kind: str,
    source: str | None,
    city_id: int | None = None,
    signer_id: int | None = None,
    bill_id: int | None = None,
) -> LetterDocument:
    """The sample letter of ``kind`` with ``source`` as its body, on a chosen city's letterhead, signed by a chosen
    official, about a chosen bill (each optional: the sample's own otherwise)."""
    from advocacy.letters.compose import bill_ref, letterhead, signer_of

    _check_kind(kind)
    if source is not None and len(source) > MAX_SOURCE_CHARS:
        raise TemplateStoreError(f"The template is {len(source):,} characters long; at most {MAX_SOURCE_CHARS:,}.")
    document = example_document(kind, template_source=source)
    city = session.get(City, city_id) if city_id else None
    if city_id and city is None:
        raise TemplateStoreError(f"There is no city with id {city_id}.")
    if city is not None:
        document = replace(document, letterhead=letterhead(city), signer=replace(document.signer, city_name=city.name))
    if signer_id:
        signer = session.get(User, signer_id)
        if signer is None or signer.role is not Role.OFFICIAL:
            raise TemplateStoreError(f"There is no official with id {signer_id}.")
        signer_city = city or session.get(City, signer.city_id or 0)
        if signer_city is not None:
            document = replace(document, signer=signer_of(signer, signer_city))
            if city is None:
                document = replace(document, letterhead=letterhead(signer_city))
    if bill_id:
        bill = session.get(Bill, bill_id)
        if bill is None:
            raise TemplateStoreError(f"There is no bill with id {bill_id}.")
        document = replace(document, bill=bill_ref(bill))
    return document


def preview_html(document: LetterDocument) -> str:
    try:
        return render_letter_html(document)
    except TemplateError as exc:
        raise explain(exc) from None


def preview_pdf(document: LetterDocument) -> bytes:
    try:
        return render_letter_pdf(document)
    except TemplateError as exc:
        raise explain(exc) from None

"""What the JSON API and the status poller say about letters and campaigns."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from advocacy.campaigns.models import Campaign, CampaignStatus, Position
from advocacy.campaigns.service import Stage
from advocacy.directory.models import Bill
from advocacy.letters.models import (
    DELIVERY_LABELS,
    LETTER_LABELS,
    LOCAL_NOTE_MAX,
    Channel,
    Delivery,
    DeliveryStatus,
    Letter,
    LetterStatus,
)
from advocacy.letters.recipients import Recipient

if TYPE_CHECKING:
    from advocacy.letters.documents import LetterFile


class LetterRequest(BaseModel):
    local_note: str = Field("", max_length=LOCAL_NOTE_MAX, description="optional local-impact paragraph")


class RecipientOut(BaseModel):
    name: str
    reason: str
    channel: Channel
    status: DeliveryStatus | None = Field(None, description="null on a campaign: no letter yet")
    status_label: str = ""
    email: str = ""
    error: str = ""
    receipt_number: str = ""
    mailed_on: date | None = Field(None, description="the day the packet was mailed (mail channel)")
    document: str = Field(
        "", description='the document this recipient gets: "" the main one, else the target group it is written to'
    )
    pdf_url: str | None = Field(None, description="that document's PDF, once rendered")


class DocumentOut(BaseModel):
    document: str = Field(description='"" for the main document, else the target group it is written to')
    label: str
    recipients: int = Field(description="how many recipients get it")
    pdf_url: str | None = Field(None, description="present once rendered")
    pdf_sha256: str | None = None
    template_version_id: int | None = Field(None, description="the staff template version (null: file template)")


class BillOut(BaseModel):
    id: int
    label: str
    title: str
    author: str
    status: str
    version_date: date | None
    committee: str = Field("", description="committee now hearing the bill")
    url: str = ""


class LetterOut(BaseModel):
    id: int
    campaign_id: int
    city_id: int
    status: LetterStatus
    status_label: str
    stage: str
    subject: str
    local_note: str
    created_at: datetime
    queued_at: datetime | None
    sent_at: datetime | None
    pdf_url: str | None = Field(None, description="present once the PDF is rendered")
    pdf_sha256: str | None
    error: str = ""
    review_comment: str = Field(
        "", description="why league staff returned the letter (approval queue), while it is a draft again"
    )
    recipients: list[RecipientOut]
    documents: list[DocumentOut] = Field(
        default_factory=list,
        description="the letter's documents: the main one, and one per target group with a message variant of its own",
    )

    @classmethod
    def build(
        cls,
        letter: Letter,
        deliveries: list[Delivery],
        review_comment: str = "",
        files: list[LetterFile] | None = None,
    ) -> LetterOut:
        pdf = f"/api/v1/letters/{letter.id}/pdf"

        def url(document: str) -> str | None:
            return (pdf + (f"?document={document}" if document else "")) if letter.pdf_path else None

        return cls(
            id=letter.id or 0,
            campaign_id=letter.campaign_id,
            city_id=letter.city_id,
            status=letter.status,
            status_label=LETTER_LABELS[letter.status],
            stage=letter.stage,
            subject=letter.subject,
            local_note=letter.local_note,
            created_at=letter.created_at,
            queued_at=letter.queued_at,
            sent_at=letter.sent_at,
            pdf_url=f"/api/v1/letters/{letter.id}/pdf" if letter.pdf_path else None,
            pdf_sha256=letter.pdf_sha256,
            error=letter.error,
            review_comment=review_comment,
            recipients=[
                RecipientOut(
                    name=d.name,
                    reason=d.reason,
                    channel=d.channel,
                    status=d.status,
                    status_label=DELIVERY_LABELS[d.status],
                    email=d.email,
                    error=d.error,
                    receipt_number=d.receipt_number,
                    mailed_on=d.mailed_on,
                    document=d.document,
                    pdf_url=url(d.document),
                )
                for d in deliveries
            ],
            documents=[
                DocumentOut(
                    document=f.document,
                    label=f.label,
                    recipients=len(f.recipients),
                    pdf_url=url(f.document) if f.pdf_path else None,
                    pdf_sha256=f.pdf_sha256,
                    template_version_id=f.template_version_id,
                )
                for f in files or []
            ],
        )


class CampaignOut(BaseModel):
    id: int
    title: str
    position: Position
    status: CampaignStatus
    letter_kind: str
    talking_points: list[str]
    targets: list[str]
    deadline: datetime | None
    bill: BillOut
    stage: str = Field(description="where the bill is now: a committee, the Governor or the floor")
    recipients: list[RecipientOut] = Field(default_factory=list, description="for the caller's city")
    letter_id: int | None = Field(None, description="the caller's city's letter at this stage, if any")

    @classmethod
    def build(
        cls,
        campaign: Campaign,
        bill: Bill,
        stage: Stage,
        recipients: list[Recipient] | None = None,
        letter: Letter | None = None,
    ) -> CampaignOut:
        return cls(
            id=campaign.id or 0,
            title=campaign.title,
            position=campaign.position,
            status=campaign.status,
            letter_kind=campaign.letter_kind,
            talking_points=campaign.talking_point_list,
            targets=[t.value for t in campaign.targets],
            deadline=campaign.deadline,
            bill=BillOut(
                id=bill.id or 0,
                label=bill.label,
                title=bill.title,
                author=bill.author_name,
                status=bill.status,
                version_date=bill.version_date,
                committee=stage.committee.full_name if stage.committee else "",
                url=bill.leginfo_url,
            ),
            stage=stage.label,
            recipients=[
                RecipientOut(name=r.name, reason=r.reason, channel=r.channel, email=r.email, document=r.document)
                for r in recipients or []
            ],
            letter_id=letter.id if letter else None,
        )

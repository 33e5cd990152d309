"""Domain errors of campaigns and letters as HTTP errors (routes translate; services know nothing of HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException

from advocacy.campaigns.service import CampaignError, CampaignNotFound
from advocacy.letters.service import LetterError, LetterNotFound, NotAllowed

DOMAIN_ERRORS = (LetterNotFound, CampaignNotFound, NotAllowed, LetterError, CampaignError)


def to_http(exc: Exception) -> HTTPException:
    if isinstance(exc, LetterNotFound | CampaignNotFound):
        return NotFoundException("Not found, or not one of your city's.")
    if isinstance(exc, NotAllowed):
        return PermissionDeniedException(str(exc))
    return HTTPException(status_code=422, detail=str(exc))


@contextmanager
def domain_errors() -> Iterator[None]:
    """Raise the HTTP error matching a domain error raised inside the block."""
    try:
        yield
    except DOMAIN_ERRORS as exc:
        raise to_http(exc) from None

"""Every allowed and every refused state move of letters and deliveries, through the one ``_move()``."""

from __future__ import annotations

import itertools

import pytest

from advocacy.letters.models import (
    DELIVERY_MOVES,
    LETTER_MOVES,
    Channel,
    Delivery,
    DeliveryStatus,
    Letter,
    LetterStatus,
)
from advocacy.letters.service import RefusedMove, _move

L, D = LetterStatus, DeliveryStatus

# The machines as ARCHITECTURE.md draws them, written out independently of the tables under test.
EXPECTED_LETTER_MOVES = {
    (L.DRAFT, L.QUEUED),
    (L.DRAFT, L.AWAITING_APPROVAL),  # a signer's Send in a campaign with the approval queue
    (L.DRAFT, L.SUPERSEDED),
    (L.AWAITING_APPROVAL, L.QUEUED),  # staff approve
    (L.AWAITING_APPROVAL, L.DRAFT),  # staff return it with a comment
    (L.AWAITING_APPROVAL, L.SUPERSEDED),  # the bill moved on while it waited
    (L.QUEUED, L.RENDERED),
    (L.QUEUED, L.FAILED),
    (L.RENDERED, L.SENT),
    (L.RENDERED, L.PARTIALLY_SENT),
    (L.RENDERED, L.FAILED),
    (L.SENT, L.PARTIALLY_SENT),
    (L.SENT, L.SUPERSEDED),
    (L.PARTIALLY_SENT, L.SUPERSEDED),
    (L.FAILED, L.SUPERSEDED),
}
EXPECTED_DELIVERY_MOVES = {
    (D.PENDING, D.SENDING),
    (D.PENDING, D.FAILED),
    (D.SENDING, D.ACCEPTED),
    (D.SENDING, D.PENDING),
    (D.SENDING, D.FAILED),
    (D.ACCEPTED, D.DELIVERED),
    (D.ACCEPTED, D.BOUNCED),
    (D.ACCEPTED, D.DROPPED),
    (D.ACCEPTED, D.DEFERRED),
    (D.DEFERRED, D.DELIVERED),
    (D.DEFERRED, D.BOUNCED),
    (D.DEFERRED, D.DROPPED),
    (D.DELIVERED, D.BOUNCED),
    (D.PORTAL_PENDING, D.PORTAL_SUBMITTED),
    (D.MAIL_PENDING, D.MAILED),  # a committee that takes letters only on paper
}


def letter_in(status: LetterStatus) -> Letter:
    return Letter(id=1, campaign_id=1, city_id=1, stage="s", prepared_by_id=1, status=status)


def delivery_in(status: DeliveryStatus) -> Delivery:
    return Delivery(id=1, letter_id=1, channel=Channel.EMAIL, recipient_key="k", name="n", reason="r", status=status)


def test_tables_are_the_documented_machines() -> None:
    assert {(a, b) for a, targets in LETTER_MOVES.items() for b in targets} == EXPECTED_LETTER_MOVES
    assert {(a, b) for a, targets in DELIVERY_MOVES.items() for b in targets} == EXPECTED_DELIVERY_MOVES
    assert set(LETTER_MOVES) == set(LetterStatus) and set(DELIVERY_MOVES) == set(DeliveryStatus)


@pytest.mark.parametrize(("source", "target"), sorted(itertools.product(LetterStatus, LetterStatus)))
def test_letter_move(source: LetterStatus, target: LetterStatus) -> None:
    letter = letter_in(source)
    before = letter.status_changed_at
    if (source, target) in EXPECTED_LETTER_MOVES:
        _move(letter, target)
        assert letter.status is target and letter.status_changed_at >= before
    else:
        with pytest.raises(RefusedMove, match=f"{source} → {target} is not allowed"):
            _move(letter, target)
        assert letter.status is source  # a refused move changes nothing


@pytest.mark.parametrize(("source", "target"), sorted(itertools.product(DeliveryStatus, DeliveryStatus)))
def test_delivery_move(source: DeliveryStatus, target: DeliveryStatus) -> None:
    delivery = delivery_in(source)
    if (source, target) in EXPECTED_DELIVERY_MOVES:
        _move(delivery, target)
        assert delivery.status is target
    else:
        with pytest.raises(RefusedMove):
            _move(delivery, target)
        assert delivery.status is source


def test_final_states_have_no_way_out() -> None:
    assert LETTER_MOVES[L.SUPERSEDED] == frozenset()
    for final in (D.BOUNCED, D.DROPPED, D.FAILED, D.PORTAL_SUBMITTED):
        assert DELIVERY_MOVES[final] == frozenset()

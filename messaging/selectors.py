"""Reads of the outbox that other apps show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from messaging.models import Message

# Rough list prices in USD (2025): Twilio US SMS per segment, WhatsApp utility
# template, SES per email. An estimate for the admin, not an invoice.
PRICE_PER_UNIT = {
    Message.Channel.SMS: Decimal("0.0083"),
    Message.Channel.WHATSAPP: Decimal("0.0050"),
    Message.Channel.EMAIL: Decimal("0.0001"),
}
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def sms_segments(text: str) -> int:
    """SMS parts a text takes: 160/153 GSM-7 characters, else 70/67 UCS-2."""
    if all(char in _GSM7 for char in text):
        single, multi = 160, 153
    else:
        single, multi = 70, 67
    if len(text) <= single:
        return 1
    return -(-len(text) // multi)


@dataclass
class MessageStats:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    # Billable units: SMS segments, WhatsApp messages, emails; failed ones excluded.
    units: int = 0
    estimated_cost: Decimal = Decimal("0.0000000")
    currency: str = "USD"


def disbursement_message_stats(disbursement_id: uuid.UUID) -> MessageStats:
    """Messages of a disbursement and their estimated cost (sent and still
    pending; failed ones are not billed)."""
    stats = MessageStats()
    cost = Decimal("0")
    rows = Message.objects.filter(disbursement_id=disbursement_id).values_list(
        "channel", "status", "body"
    )
    for channel, status, body in rows.iterator(chunk_size=2000):
        stats.total += 1
        stats.by_status[status] = stats.by_status.get(status, 0) + 1
        stats.by_channel[channel] = stats.by_channel.get(channel, 0) + 1
        if status == Message.Status.FAILURE:
            continue
        units = sms_segments(body) if channel == Message.Channel.SMS else 1
        stats.units += units
        cost += PRICE_PER_UNIT[channel] * units
    stats.estimated_cost = cost.quantize(Decimal("0.0000001"))
    return stats


def oldest_pending_created_at():
    """When the oldest message not sent yet was queued (None when none is)."""
    return (
        Message.objects.filter(status=Message.Status.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )

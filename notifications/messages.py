"""The e-mails themselves: subject, plain text and HTML for a notification, a digest of
held notifications and a test message. Rendered from templates/notifications/email/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from notifications.models import Notification
from notifications.selectors import notification_dict

_DATA_LABELS = {
    "symbol": "Symbol",
    "direction": "Direction",
    "market": "Market",
    "quantity": "Quantity",
    "entry_price": "Entry price",
    "exit_price": "Exit price",
    "leverage": "Leverage",
    "realized_pnl": "Realized PnL (USDT)",
    "fees": "Fees (USDT)",
    "reason": "Reason",
    "opened_at": "Opened",
    "closed_at": "Closed",
    "trade_id": "Trade",
    "rule": "Rule",
    "timeframe": "Timeframe",
    "signal": "Signal",
    "action": "Action",
    "error": "Error",
    "detail": "Detail",
}


@dataclass(frozen=True, slots=True)
class Email:
    subject: str
    text: str
    html: str


def _rows(data: dict) -> list[tuple[str, str]]:
    return [
        (label, str(data[key]))
        for key, label in _DATA_LABELS.items()
        if data.get(key) not in (None, "")
    ]


def _site(link: str) -> str:
    return settings.SITE_URL.rstrip("/") + (link or "/")


def notification_email(note: Notification) -> Email:
    context = {
        "note": notification_dict(note),
        "rows": _rows(note.data),
        "url": _site(note.link),
        "settings_url": _site("/#email"),
    }
    return Email(
        subject=f"[cryptobot] {note.title}",
        text=render_to_string("notifications/email/notification.txt", context),
        html=render_to_string("notifications/email/notification.html", context),
    )


def digest_email(notes: Sequence[Notification], *, reason: str) -> Email:
    context = {
        "notes": [{**notification_dict(n), "url": _site(n.link)} for n in notes],
        "reason": reason,
        "url": _site("/"),
        "settings_url": _site("/#email"),
    }
    return Email(
        subject=f"[cryptobot] {len(notes)} notifications while e-mail was held",
        text=render_to_string("notifications/email/digest.txt", context),
        html=render_to_string("notifications/email/digest.html", context),
    )


def test_email(*, username: str) -> Email:
    context = {"username": username, "url": _site("/#email")}
    return Email(
        subject="[cryptobot] Test e-mail",
        text=render_to_string("notifications/email/test.txt", context),
        html=render_to_string("notifications/email/test.html", context),
    )


def mime_bytes(email: Email, *, sender: str, recipients: list[str], ref: str) -> bytes:
    """The message as sent. The Message-ID names the delivery (``ref``), so a server's or
    reader's duplicate check sees one message per delivery."""
    message = EmailMultiAlternatives(
        email.subject,
        email.text,
        sender,
        recipients,
        headers={"Message-ID": make_msgid(idstring=ref, domain="cryptobot.local")},
    )
    message.attach_alternative(email.html, "text/html")
    return message.message().as_bytes(linesep="\r\n")  # SMTP lines end in CRLF

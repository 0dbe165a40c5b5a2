"""Refusals of the notifications routes, as the one exception handler renders them."""

from __future__ import annotations

from cryptobot.api.errors import ApiError
from notifications.transports.smtp import SmtpError


class EmailNotConfigured(ApiError):
    code = "email_not_configured"


class SmtpFailed(ApiError):
    """The SMTP server (or the way to it) refused: the code says which step, the details
    carry the server's own answer."""

    status_code = 422

    @classmethod
    def of(cls, exc: SmtpError) -> SmtpFailed:
        return cls(exc.message, details=exc.details(), code=exc.code)

"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with LOGIN/PLAIN authentication.

Messages that arrive are parsed and kept in order; ``stop()`` and ``start()`` take the
server down and bring it back on the same port (the retry tests kill it mid-delivery).
"""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cryptobot.testing.live import free_port

USERNAME = "bot@example.org"
PASSWORD = "smtp-secret-Pa55"


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd in a thread; only USERNAME / PASSWORD log in, and mail needs a login."""

    host = "127.0.0.1"

    def __init__(self, username: str = USERNAME, password: str = PASSWORD) -> None:
        self.username = username
        self.password = password
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            authenticator=self._authenticate,
            auth_required=True,
            auth_require_tls=False,
            ready_timeout=10,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """The messages once at least ``count`` have arrived (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} e-mail(s), got {len(self.messages)}")

    def config(self, **overrides) -> dict:
        """An /email/config body that reaches this server."""
        body = {
            "enabled": True,
            "smtp_host": self.host,
            "smtp_port": self.port,
            "use_tls": False,
            "use_ssl": False,
            "username": self.username,
            "password": self.password,
            "from_email": "cryptobot@example.org",
            "recipients": ["trader@example.org"],
        }
        body.update(overrides)
        return body

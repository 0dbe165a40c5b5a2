"""SMTP: the one sender of e-mail. Converts smtplib's and the socket's failures into our
ladder at the border, where each error says whether retrying can help (``transient``).

Hosts are checked before any connection: a host that resolves to loopback, link-local,
private, shared or reserved space is refused (an SMTP form is otherwise a way to probe the
operator's internal network) unless the operator's SMTP_ALLOWED_HOSTS names it or a CIDR
containing it. The connection then goes to the address that was checked, not to a second
lookup (no DNS rebinding), while TLS still verifies the certificate for the host name.
"""

from __future__ import annotations

import ipaddress
import smtplib
import socket
import ssl
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str
    password: str  # in clear only in memory, for the login; never logged or rendered


class SmtpError(Exception):
    """A refusal or failure on the way to the SMTP server."""

    code = "smtp_error"
    transient = False

    def __init__(self, message: str, *, smtp_code: int | None = None, answer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.smtp_code = smtp_code
        self.answer = answer

    def details(self) -> dict:
        out: dict = {}
        if self.smtp_code is not None:
            out["smtp_code"] = self.smtp_code
        if self.answer:
            out["smtp_answer"] = self.answer
        return out


class SmtpHostRefused(SmtpError):
    code = "smtp_host_refused"


class SmtpConnectFailed(SmtpError):
    code = "smtp_connect_failed"
    transient = True


class SmtpAuthFailed(SmtpError):
    code = "smtp_auth_failed"


class SmtpTemporary(SmtpError):
    """A 4xx answer: the server asks us to come back later."""

    transient = True


def _allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks = []
    for item in (part.strip() for part in settings.SMTP_ALLOWED_HOSTS.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            names.add(item.lower())
    return names, networks


def host_address(host: str, port: int) -> str:
    """The address to connect to: the first one ``host`` resolves to, after checking that
    every address it resolves to is public or admitted by SMTP_ALLOWED_HOSTS."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SmtpConnectFailed(f"The SMTP host {host} could not be resolved ({exc}).") from exc
    addresses = [info[4][0] for info in infos]
    names, networks = _allow_list()
    if host.lower() in names:
        return addresses[0]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if any(ip in net for net in networks):
            continue
        if not ip.is_global or ip.is_multicast:
            raise SmtpHostRefused(
                f"The SMTP host {host} resolves to {ip}, a loopback, private, link-local or "
                "reserved address; the operator must add it to SMTP_ALLOWED_HOSTS to allow it."
            )
    return addresses[0]


class _PinnedSMTP(smtplib.SMTP):
    """smtplib.SMTP that connects to the checked address but keeps the host name (for
    STARTTLS's certificate check and EHLO)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._address = address
        super().__init__(timeout=timeout)
        self._host = host
        self._connect_answer = self.connect(host, port)

    def _get_socket(self, host, port, timeout):
        return socket.create_connection((self._address, port), timeout)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._address = address
        super().__init__(timeout=timeout, context=ssl.create_default_context())
        self._host = host
        self._connect_answer = self.connect(host, port)

    def _get_socket(self, host, port, timeout):
        raw = socket.create_connection((self._address, port), timeout)
        return self.context.wrap_socket(raw, server_hostname=self._host)


def _answer(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _response_error(exc: smtplib.SMTPResponseException, what: str) -> SmtpError:
    answer = _answer(exc.smtp_error)
    cls = SmtpTemporary if 400 <= exc.smtp_code < 500 else SmtpError
    return cls(
        f"The SMTP server refused {what}: {exc.smtp_code} {answer}",
        smtp_code=exc.smtp_code,
        answer=answer,
    )


def _open(cfg: SmtpSettings) -> tuple[smtplib.SMTP, str]:
    """A connected, (STARTTLS-ed) and logged-in session, and the server's last answer."""
    address = host_address(cfg.host, cfg.port)
    timeout = settings.EMAIL_TIMEOUT_SECONDS
    where = f"{cfg.host}:{cfg.port}"
    try:
        cls = _PinnedSMTPSSL if cfg.use_ssl else _PinnedSMTP
        session = cls(cfg.host, cfg.port, address, timeout)
    except (OSError, smtplib.SMTPException) as exc:
        if isinstance(exc, ssl.SSLError):
            raise SmtpError(f"TLS with {where} failed: {exc}") from exc
        if isinstance(exc, smtplib.SMTPResponseException):
            raise _response_error(exc, "the connection") from exc
        raise SmtpConnectFailed(f"Could not connect to {where}: {exc}") from exc
    answer = _answer(session._connect_answer[1])
    try:
        session.ehlo()
        if cfg.use_tls:
            session.starttls(context=ssl.create_default_context())
            session.ehlo()
        if cfg.username:
            code, text = session.login(cfg.username, cfg.password)
            answer = f"{code} {_answer(text)}"
    except smtplib.SMTPAuthenticationError as exc:
        _quit(session)
        error = _response_error(exc, "the login")
        if not error.transient:
            error = SmtpAuthFailed(error.message, smtp_code=error.smtp_code, answer=error.answer)
        raise error from exc
    except smtplib.SMTPResponseException as exc:
        _quit(session)
        raise _response_error(exc, "the session") from exc
    except smtplib.SMTPNotSupportedError as exc:
        _quit(session)
        raise SmtpError(f"{where} does not support what the settings ask for: {exc}") from exc
    except ssl.SSLError as exc:
        _quit(session)
        raise SmtpError(f"STARTTLS with {where} failed: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        _quit(session)
        raise SmtpConnectFailed(f"The connection to {where} broke: {exc}") from exc
    return session, answer


def _quit(session: smtplib.SMTP) -> None:
    try:
        session.quit()
    except (OSError, smtplib.SMTPException):
        session.close()


def smtp_check(cfg: SmtpSettings) -> str:
    """Connect and log in without sending; the server's answer to the login."""
    session, answer = _open(cfg)
    _quit(session)
    return answer


def smtp_send(cfg: SmtpSettings, *, sender: str, recipients: list[str], message: bytes) -> str:
    """Send one message; the server's answer to it. Raises SmtpError (``transient`` says
    whether a retry can help)."""
    session, _ = _open(cfg)
    try:
        refused = session.sendmail(sender, recipients, message)
        answer = "250 accepted"
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(
            f"{rcpt}: {code} {_answer(msg)}" for rcpt, (code, msg) in exc.recipients.items()
        )
        cls = SmtpTemporary if all(400 <= c < 500 for c in codes) else SmtpError
        raise cls(
            f"The SMTP server refused every recipient: {text}", smtp_code=codes[0], answer=text
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise _response_error(exc, "the message") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpConnectFailed(f"The connection to {cfg.host}:{cfg.port} broke: {exc}") from exc
    finally:
        _quit(session)
    if refused:
        answer = "250 accepted for some recipients; refused: " + ", ".join(sorted(refused))
    return answer

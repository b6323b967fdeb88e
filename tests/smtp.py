"""A real SMTP server on localhost (aiosmtpd) that keeps what it receives."""
import socket
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """The aiosmtpd handler: accepts everything except the addresses in ``refused``."""

    def __init__(self):
        self.messages = []
        self.refused = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        message.raw = envelope.content  # the bytes as they came over the wire
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """Start with :meth:`start`; ``messages`` lists ``EmailMessage`` objects as received."""

    def __init__(self, login=None, smtputf8=False):
        """``login=(user, password)`` makes the server require that login (AUTH without TLS);
        ``smtputf8`` makes it offer SMTPUTF8 (addresses with non-ASCII characters)."""
        self.mailbox = Mailbox()
        self.port = free_port()
        options = {"enable_SMTPUTF8": smtputf8}
        if login:
            options |= {"authenticator": self._authenticator(login), "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **options)

    @staticmethod
    def _authenticator(login):
        user, password = login

        def check(server, session, envelope, mechanism, auth_data):
            valid = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                user.encode(), password.encode())
            return AuthResult(success=valid, handled=False)
        return check

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def refuse(self, address, reply="550 5.1.1 Mailbox unavailable"):
        self.mailbox.refused[address] = reply

    @property
    def messages(self):
        return [message for _, message in self.mailbox.messages]

    def to(self, address):
        """Messages whose envelope went to ``address``."""
        return [message for recipients, message in self.mailbox.messages if address in recipients]

    def clear(self):
        self.mailbox.messages.clear()

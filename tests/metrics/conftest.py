"""The running mail server of the SMTP tests (every listener, a small directory, static DNS)."""

from tests.smtp.conftest import mailserver, resolver, server_settings

__all__ = ["mailserver", "resolver", "server_settings"]

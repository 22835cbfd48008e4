"""Personal data and alerts run against a started server's services (tests/imap/conftest.py)."""

from tests.imap.conftest import imapserver, resolver, server_settings  # noqa: F401

"""POP3 server (RFC 1939, with CAPA of RFC 2449, STLS of RFC 2595, SASL PLAIN of RFC 5034 and the
response codes of RFC 3206): a person's INBOX, downloaded by mail clients that do not speak IMAP.

`commands` parses client lines into typed values without I/O and holds the table of which command is
valid in which state; `replies` is the catalogue of status lines; `framing` writes multi-line bodies
(dot-stuffing, TOP); `maildrop` is a session's frozen, numbered view of the INBOX and the lock that
keeps it to one session; `session` is the conversation over any transport; `listener` runs it on
asyncio streams for `hopthu serve`. Mail itself stays in `hopthu.store`; POP3 only reads it and, on
QUIT, expunges what the client deleted.
"""

from hopthu.pop3.listener import Pop3Listeners, start_pop3_listeners

__all__ = ["Pop3Listeners", "start_pop3_listeners"]

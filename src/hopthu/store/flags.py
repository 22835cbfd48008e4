"""RFC 9051 §2.3.2 system flags, kept as bits so unread counts and searches use an integer column."""

SEEN, ANSWERED, FLAGGED, DELETED, DRAFT = 1, 2, 4, 8, 16

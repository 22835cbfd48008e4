"""IMAP server, starting with the protocol core.

`parser` turns client bytes into typed command values (`commands`) without doing any I/O, so
the same code serves the asyncio listener, the tests and the fuzzers; `mutf7` converts mailbox
names between the modified UTF-7 of IMAP4rev1 clients and the UTF-8 names we store.
"""

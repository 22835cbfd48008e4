"""The city's address book over CardDAV (RFC 6352), read-only, for Thunderbird, iOS and Android
(DAVx⁵): the same book as the webmail's directory page (`directory.book`), served by Radicale.

Radicale is a WSGI application: it is mounted in the web app under `/dav/` (`front`), run in a
small thread pool (a2wsgi), with three plugins of ours (`plugins`): a storage that lists one address
book per person, `/dav/<person>/city/`, whose vCards (`vcard`) come from a snapshot of the
directory (`snapshot`); an authentication that accepts whom the front signed in; rights that only
ever grant reading.

Nothing in a WSGI thread touches the store or the sign-in machinery, which belong to the event
loop: the front, on the loop, checks the person's mail password exactly as IMAP does
(`directory.auth.Authenticator`, its throttle and access log included) and takes the current
snapshot (rebuilt on the loop when the directory's version moved), then hands both to the thread
in context variables (a2wsgi runs the application in a copy of the request's context). The snapshot
is immutable, so any number of threads read it without locks; its vCards are written in the thread
on first use. This is why there is no call from a thread back into the loop, with its timeouts and
its risk of a blocked loop waiting on a blocked thread.
"""

PREFIX = "/dav"  # where the web app mounts it; announced by DNS (RFC 6764) and the Apple profile

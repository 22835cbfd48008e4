"""Protection: what decides whether a message is spam, malware, a dangerous file or a forgery, and
what becomes of it (R13.1, R13.2, R3.1, R3.2).

The engines are real ones outside the process (rspamd for scores and Bayes, clamd for malware),
reached over their own protocols; the built-in checks (DNS blocklists, file types, other domains'
DMARC, sender rules) run with or without them. `inspector.Inspector` asks each in turn and returns
one `Inspection`; the delivery pipeline acts on it and writes the mail log.
"""

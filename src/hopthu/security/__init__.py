"""Security mechanisms shared by every listener: password hashing, certificates, (later) rate limits,
spam and malware checks. Rules about what is allowed live in `policy`; this room makes them hold."""

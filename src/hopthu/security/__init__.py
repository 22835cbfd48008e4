"""Security mechanisms shared by every listener. Rules about what is allowed live in `policy`; this
room makes them hold:

- `passwords`: argon2id hashes (RFC 9106), a short cache of successful checks, temporary passwords;
- `throttle`: the counters behind `policy.signin`'s sign-in limits (R13.3), which
  `directory.auth` consults for every protocol's sign-in;
- `connections`: connection limits per listener kind, in total and per address (the HTTP listener
  applies them through `web.connlimit`);
- `proxies`: the real client address behind trusted reverse proxies (RFC 7239);
- `tls`: the one TLS context of every listener, its certificate reloaded on SIGHUP;
- `certs`, `secretbox`, `private`: a development certificate, the data folder's secret key, and
  file modes that keep everything at rest private.

Not here: outbound sending limits per account (R3.1) are `smtp.limits`; spam and malware checks
(R13.1, R13.2) are the `protection` room.
"""

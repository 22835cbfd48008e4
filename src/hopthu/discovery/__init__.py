"""What the installation tells the world so that mail programs and other mail servers find it.

Mail programs configure themselves from what this room writes: Thunderbird's autoconfig file,
Outlook's Autodiscover answer, Apple's configuration profile and the RFC 6186 SRV records all name
the same servers and ports (`endpoints`), those the running process listens on. Other mail servers
read the DNS records `hopthu dns show` prints (`records`: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT)
and the MTA-STS policy the web serves (`mtasts`); `hopthu dns check` compares what DNS answers with
them (`check`).

Everything here is pure (settings and bytes in, values and bytes out) except `check`, whose DNS
questions go through a `Lookup` handed in, so tests answer them.
"""

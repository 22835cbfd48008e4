"""Mail transport: the MX and submission listeners, the one delivery pipeline every message enters
through (its decision is an `outcome.Outcome`, rendered as a reply by `replies`), the sending
limits, the outbound queue, DKIM signing, and SPF/DKIM/DMARC verification of what arrives."""

"""Mail transport: the MX and submission listeners, the one delivery pipeline every message enters
through, the outbound queue, DKIM signing, and SPF/DKIM/DMARC verification of what arrives."""

"""Importing mail from elsewhere (R13.7): the former provinces' servers over IMAP, and the archives
people kept on their computers (.mbox, Maildir, .eml). Every message goes through the store's one
delivery path (`sink`), so bodies are kept once, quotas are counted and nothing is relayed or
answered: an import is not a delivery by SMTP, so no notice, autoreply or forward is triggered."""

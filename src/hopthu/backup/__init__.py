"""Backups (R9.2): a consistent copy of a running installation, and bringing one back."""

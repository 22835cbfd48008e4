"""The regulation (Quyết định 21/2025/QĐ-UBND, see REQUIREMENTS.md) as pure functions and small values.

This room owns every rule of the regulation that can be decided without I/O: address formats and the
order in which namesakes are served (`naming`, R4), password rules and expiry (`passwords`, R5.2-R5.3),
storage quotas and attachment limits (`quota`, R5.1), the mailbox lifecycle and who may do what in
each state (`lifecycle`, R6), secrecy markings in outgoing mail (`secrecy`, R8.1), sending limits
and send-as rights (`sending`, R3.1, R3.2), forgeries of our domains (`forgery`, R3.2),
delegation (`delegation`, R8.2), what a spam score does (`spam`, R13.1), dangerous file types
(`filetypes`, R13.2), sign-in limits (`signin`, R13.3) and idle web sessions (`sessions`, R11.4).
Calendar arithmetic shared by them lives in `dates`, the mailbox kinds of R2.1 in `mailbox`.

Nothing here reads a clock, a file or a database: time, the set of addresses in use and the settings
are parameters, so every other room can ask `policy` and never re-decide a rule, and tests can move
the clock. A refusal is a `hopthu.errors.HopThuError` with a Vietnamese and an English message.
"""

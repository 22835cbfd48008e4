"""Which commands are valid in which state (RFC 9051 §3, §6): one table, checked by a test."""

from __future__ import annotations

from hopthu.imap import commands as c

NOT_AUTHENTICATED = "not authenticated"
AUTHENTICATED = "authenticated"
SELECTED = "selected"
LOGOUT = "logout"

ANY_STATE: frozenset[type[c.Command]] = frozenset({c.Capability, c.Noop, c.Logout, c.Id})
BEFORE_LOGIN = ANY_STATE | {c.StartTLS, c.Login, c.Authenticate}
AFTER_LOGIN = ANY_STATE | {
    c.Select, c.Examine, c.Create, c.Delete, c.Rename, c.Subscribe, c.Unsubscribe, c.List, c.Lsub,
    c.Status, c.Append, c.Idle, c.Enable, c.Namespace, c.GetQuotaRoot, c.GetQuota,
}  # fmt: skip
IN_MAILBOX = AFTER_LOGIN | {
    c.Check, c.Close, c.Unselect, c.Expunge, c.UidExpunge, c.Search, c.Fetch, c.Store, c.Copy, c.Move,
}  # fmt: skip

TABLE: dict[str, frozenset[type[c.Command]]] = {
    NOT_AUTHENTICATED: frozenset(BEFORE_LOGIN),
    AUTHENTICATED: frozenset(AFTER_LOGIN),
    SELECTED: frozenset(IN_MAILBOX),
    LOGOUT: frozenset(),
}


def allowed(state: str, command: c.Command) -> bool:
    return type(command) in TABLE[state]

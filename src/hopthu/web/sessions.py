"""Browser sessions, as the web pages know them: the rows and the operations live in the directory
(`hopthu.directory.websessions`, who is signed in where), the cookie in `web.security`."""

from hopthu.directory.websessions import (
    PRIVATE_IDLE,
    PUBLIC_IDLE,
    TOUCH_EVERY,
    WebSession,
    WebSessions,
    token_id,
)

__all__ = ["PRIVATE_IDLE", "PUBLIC_IDLE", "TOUCH_EVERY", "WebSession", "WebSessions", "token_id"]

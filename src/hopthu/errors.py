"""The error every room raises when the user (operator, agency, person) asked for something wrong.

It carries a Vietnamese message first and an English one second; the CLI prints both on one line and
exits non-zero, the protocols and web pages render them in their own way. Anything else that escapes
is a bug, logged with an id and never shown as a traceback.
"""


class HopThuError(Exception):
    """A refusal explained to the person who asked, in Vietnamese and in English."""

    def __init__(self, vi: str, en: str, *, code: str = "invalid") -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en
        self.code = code

    def __str__(self) -> str:
        return f"{self.vi} / {self.en}"


class NotFound(HopThuError):
    def __init__(self, vi: str, en: str) -> None:
        super().__init__(vi, en, code="not_found")


class Conflict(HopThuError):
    def __init__(self, vi: str, en: str) -> None:
        super().__init__(vi, en, code="conflict")

"""Path parameters shared by the pages and the API: a row id is a positive 32-bit integer, so a
number no table can hold is a 422 answer, not a database error."""

from typing import Annotated

from fastapi import Path

ROW_ID_MAX = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
Uid = Annotated[int, Path(ge=1, le=2**32 - 1)]  # RFC 9051: a UID is a 32-bit number

"""The base of every request body the services accept.

Unknown fields are ignored (national interfaces carry many Yibao does not use), strings are
stripped, and text PostgreSQL cannot store is refused at the edge (U+0000, and lone surrogate
escapes that JSON allows but UTF-8 cannot encode): letting it in turned a request into a 500
or, deeper in, a dead-lettered event.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class RequestModel(BaseModel):
    """Request bodies: lenient about extra fields, strict about characters."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("must not contain the NUL character (U+0000)")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:  # a lone surrogate escape such as "\ud909"
                raise ValueError("is not valid Unicode text (lone surrogate)") from exc
        return value

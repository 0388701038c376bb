"""The base of every request body the services accept.

Unknown fields are ignored (national interfaces carry many Yibao does not use), strings are
stripped, and NUL is refused at the edge: PostgreSQL cannot store U+0000 in text or jsonb,
so letting it in turned a request into a 500 or, deeper in, a dead-lettered event.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class RequestModel(BaseModel):
    """Request bodies: lenient about extra fields, strict about characters."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
        return value

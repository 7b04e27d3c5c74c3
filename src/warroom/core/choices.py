"""`Choice`: a StrEnum that parses what people type, with one error message for all.

class Stage(Choice):
    DETECTED = "detected"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"rca": "root_caused"}

Stage.parse("Root-Caused")   # case, dashes and spaces forgiven; aliases applied
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Self

from warroom.core.errors import InvalidInput


class Choice(StrEnum):
    """A closed set of values with a forgiving `parse` and a message naming the choices."""

    @classmethod
    def aliases(cls) -> dict[str, str]:
        """Other words people use for a value (normalised text -> value)."""
        return {}

    @classmethod
    def noun(cls) -> str:
        """What the value is called in messages: `TaskStatus` -> "task status"."""
        return re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()

    @classmethod
    def field_name(cls) -> str:
        """The field an invalid value is reported on."""
        return cls.noun().replace(" ", "_")

    @classmethod
    def parse(cls, value: str | Self) -> Self:
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        text = cls.aliases().get(text, text)
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(
                f"unknown {cls.noun()} {value!r}: use one of {', '.join(m.value for m in cls)}",
                field=cls.field_name(),
            ) from None

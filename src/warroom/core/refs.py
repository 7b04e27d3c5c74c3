"""Short references people type: `INC-7`, `T3`, `M2`, `R1`, `AI-33` -> their number.

One parser for all of them: ASCII digits only (so `T²` or `M１` are refused, not crashed on),
at most nine digits (every number fits the database's integer columns).
"""

from __future__ import annotations

import re

from warroom.core.errors import InvalidInput

MAX_DIGITS = 9


def parse_number(value: str | int, *, prefix: str, noun: str, field: str) -> int:
    """`{prefix}7`, `{prefix}-7`, lower case or `7` -> 7; anything else is InvalidInput
    naming the `noun` and the form to use.

    parse_number("t3", prefix="T", noun="task", field="task") == 3
    """
    text = str(value)
    example = f"{prefix}-7" if len(prefix) > 1 else f"{prefix}7"  # INC-7, AI-33; T3, M2
    article = "an" if noun[:1].lower() in "aeiou" else "a"
    pattern = rf"^\s*(?:{re.escape(prefix)}-?)?([0-9]{{1,{MAX_DIGITS}}})\s*$"
    m = re.match(pattern, text, re.IGNORECASE | re.ASCII)
    if not m:
        raise InvalidInput(
            f"{text[:40]!r} is not {article} {noun}: use the form {example} (or just 7)",
            field=field,
        )
    return int(m.group(1))

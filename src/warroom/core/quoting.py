"""User text quoted into generated documents stays text: Markdown (postmortems, timeline
exports) and CSV (action items, duplicate effects).

    f"- {at} UTC - {inline(note)}"     # a note cannot start a heading, a list item or a link

`inline` makes one line of it (newlines become spaces) and escapes Markdown's special
characters with a backslash, so "## Root cause" or "- 12:00 forged line" or
"[click](https://evil)" is shown as written and creates no structure that was not there.
`unescape` is its inverse, for renderers of the Markdown subset warroom writes.
`csv_cell` keeps a spreadsheet from reading a cell as a formula.
"""

from __future__ import annotations

import re

# Characters that make structure anywhere in a line (emphasis, code, links, raw HTML, table
# cells); and what makes a list item, a quote or a heading at the start of one.
# (`_` inside a word, as in customer_id, makes no emphasis: left as written)
_SPECIAL = re.compile(r"([\\`*\[\]<#|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_LEADING = re.compile(r"^([-+>])")
_NUMBERED = re.compile(r"^(\d+)([.)])")
_ESCAPED = re.compile(r"\\([\\`*_\[\]<#|+>.)-])")


def inline(text: object) -> str:
    """`text` as one line of literal Markdown text."""
    one = " ".join(str(text if text is not None else "").split())
    one = _LEADING.sub(r"\\\1", _SPECIAL.sub(r"\\\1", one))
    return _NUMBERED.sub(r"\1\\\2", one)


def unescape(text: str) -> str:
    """The text `inline` escaped, as written."""
    return _ESCAPED.sub(r"\1", text)


# A spreadsheet reads a cell that starts with one of these as a formula (or, for tab and
# carriage return, as the start of one after trimming).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A value for a CSV cell a spreadsheet opens as text: text starting with = + - @ tab or
    CR gets a leading apostrophe (OWASP's advice); numbers and other values are unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value

"""Go's text formatting, as Boulder's messages use it: ``%q`` quoting (``strconv.Quote``).

Let's Encrypt's details are Go format strings; to read exactly as they do, quoted values must be
quoted the Go way (double quotes, Go escapes), not with Python's ``repr``.
"""

from __future__ import annotations

import unicodedata

_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def _printable(ch: str) -> bool:
    # strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def go_quote(value: str | bytes) -> str:
    """``strconv.Quote(value)``: Go's ``%q`` of a string.

    Bytes are treated as Go treats a string's bytes: invalid UTF-8 is escaped byte by byte as
    ``\\xNN``.
    """
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    out = ['"']
    text = data.decode("utf-8", "surrogateescape")
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif code < 0x20:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)

"""Go's texts, as Boulder's messages use them: ``%q`` quoting (``strconv.Quote``), and the names
Go's ``crypto/tls`` gives TLS alerts.

Let's Encrypt's details are Go format strings; to read exactly as they do, quoted values must be
quoted the Go way (double quotes, Go escapes), not with Python's ``repr``.
"""

from __future__ import annotations

import datetime as _dt
import ssl
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


_BASE64URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def go_duration(delta: _dt.timedelta) -> str:
    """Go's ``time.Duration.String`` (to the microsecond): ``3h0m0s``, ``168h0m0s``,
    ``1m30s``, ``21.6s``, ``500ms``, ``0s``."""
    micros = delta // _dt.timedelta(microseconds=1)
    sign, micros = ("-", -micros) if micros < 0 else ("", micros)
    if micros == 0:
        return "0s"
    if micros < 1_000:
        return f"{sign}{micros}\u00b5s"  # Go writes the micro sign, U+00B5
    if micros < 1_000_000:
        return f"{sign}{_trimmed(micros, 1_000)}ms"
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = _trimmed(rest, 1_000_000)
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _trimmed(value: int, unit: int) -> str:
    """``value / unit`` with its fraction and no trailing zeros, as Go's fmtFrac writes it."""
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")


def go_base64_error(value: str) -> str | None:
    """The error of Go's ``base64.RawURLEncoding.DecodeString(value)``, or None when it
    decodes: ``illegal base64 data at input byte N`` at the first byte outside the alphabet
    (``=`` included: raw encodings have no padding), or at a lone last byte. CR and LF are
    skipped, as Go skips them."""
    data = value.encode("utf-8", "surrogateescape")
    count, last = 0, 0
    for index, byte in enumerate(data):
        if byte in (0x0A, 0x0D):
            continue
        if byte not in _BASE64URL:
            return f"illegal base64 data at input byte {index}"
        count, last = count + 1, index
    if count % 4 == 1:
        return f"illegal base64 data at input byte {last}"
    return None


# OpenSSL's reason for a received alert (``SSL_R_*``) to Go's text for it
# (``crypto/tls/alert.go``), shown as ``remote error: tls: <text>``.
_ALERTS = {
    "SSLV3_ALERT_UNEXPECTED_MESSAGE": "unexpected message",
    "SSLV3_ALERT_BAD_RECORD_MAC": "bad record MAC",
    "TLSV1_ALERT_DECRYPTION_FAILED": "decryption failed",
    "TLSV1_ALERT_RECORD_OVERFLOW": "record overflow",
    "SSLV3_ALERT_DECOMPRESSION_FAILURE": "decompression failure",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "handshake failure",
    "SSLV3_ALERT_BAD_CERTIFICATE": "bad certificate",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": "unsupported certificate",
    "SSLV3_ALERT_CERTIFICATE_REVOKED": "revoked certificate",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "expired certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "unknown certificate",
    "SSLV3_ALERT_ILLEGAL_PARAMETER": "illegal parameter",
    "TLSV1_ALERT_UNKNOWN_CA": "unknown certificate authority",
    "TLSV1_ALERT_ACCESS_DENIED": "access denied",
    "TLSV1_ALERT_DECODE_ERROR": "error decoding message",
    "TLSV1_ALERT_DECRYPT_ERROR": "error decrypting message",
    "TLSV1_ALERT_EXPORT_RESTRICTION": "export restriction",
    "TLSV1_ALERT_PROTOCOL_VERSION": "protocol version not supported",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY": "insufficient security level",
    "TLSV1_ALERT_INTERNAL_ERROR": "internal error",
    "TLSV1_ALERT_INAPPROPRIATE_FALLBACK": "inappropriate fallback",
    "TLSV1_ALERT_USER_CANCELLED": "user canceled",
    "TLSV1_ALERT_NO_RENEGOTIATION": "no renegotiation",
    "TLSV13_ALERT_MISSING_EXTENSION": "missing extension",
    "TLSV1_UNSUPPORTED_EXTENSION": "unsupported extension",
    "TLSV1_CERTIFICATE_UNOBTAINABLE": "certificate unobtainable",
    "TLSV1_UNRECOGNIZED_NAME": "unrecognized name",
    "TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE": "bad certificate status response",
    "TLSV1_BAD_CERTIFICATE_HASH_VALUE": "bad certificate hash value",
    "TLSV1_ALERT_UNKNOWN_PSK_IDENTITY": "unknown PSK identity",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "certificate required",
    "TLSV1_ALERT_NO_APPLICATION_PROTOCOL": "no application protocol",
    "TLSV1_ALERT_ECH_REQUIRED": "encrypted client hello required",
}
# OpenSSL's message text for the same alerts, for the reasons the ssl module cannot name.
_ALERT_MESSAGES = {
    reason.lower().replace("_", " "): text for reason, text in _ALERTS.items()
}


def go_alert(error: ssl.SSLError) -> str | None:
    """Go's text for the TLS alert an OpenSSL error reports receiving (e.g. ``"handshake
    failure"``), or None when the error is not a received alert Go can name."""
    reason = getattr(error, "reason", None) or ""
    if reason in _ALERTS:
        return _ALERTS[reason]
    message = str(error).lower()
    for text, alert in _ALERT_MESSAGES.items():
        if text in message:
            return alert
    return None

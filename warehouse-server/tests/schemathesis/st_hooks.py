"""Schemathesis hooks for the warehouse API contract test.

Documents are uploaded as their own media type (PDF, PNG, JPEG, WebP) with
the raw bytes as the body; schemathesis has no serializer for those types.
"""

import schemathesis


def _raw(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, list):
        return bytes(int(v) & 0xFF for v in value if isinstance(v, int))
    return str(value).encode()


@schemathesis.serializer("application/pdf")
class RawBytes:
    def as_requests(self, context, value):
        return {"data": _raw(value)}

    def as_werkzeug(self, context, value):
        return {"data": _raw(value)}


for _media in ("image/png", "image/jpeg", "image/webp"):
    schemathesis.serializer(_media)(RawBytes)

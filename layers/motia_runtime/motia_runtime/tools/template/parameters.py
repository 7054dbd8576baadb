"""Deploy-time settings of the template: the stream token secret and the API's CORS origin.

Both default to the safe choice: no secret (stream tokens off: ``mint_stream_token`` raises and
token-bearing connections are refused) and no cross-origin access to the API steps. Set them at
deploy time: ``sam deploy --parameter-overrides StreamSecret=... CorsAllowOrigin=https://app.example``.
"""

from __future__ import annotations

from typing import Any

STREAM_SECRET = "StreamSecret"
CORS_ORIGIN = "CorsAllowOrigin"
# An origin no page can have (.invalid never resolves, RFC 2606), so the default lets no other
# site call the API from a browser. A plain Ref is used because SAM only accepts a literal list
# here, and sam local start-api cannot evaluate Fn::If in it (it reads the parameter's default).
NO_CORS_ORIGIN = "https://no-cross-origin-access.invalid"


def parameters(*, has_http_api: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        STREAM_SECRET: {
            "Type": "String",
            "NoEcho": True,
            "Default": "",
            "Description": "MOTIA_STREAM_SECRET: signs stream tokens (at least 32 characters; several, "
                           "comma-separated, to rotate). Empty: stream tokens are off.",
        },
    }
    if has_http_api:
        out[CORS_ORIGIN] = {
            "Type": "String",
            "Default": NO_CORS_ORIGIN,
            "AllowedPattern": r"^(\*|https?://[^\s/,]+)$",
            "Description": "The browser origin allowed to call the API steps (e.g. https://app.example.com), or * "
                           f"for any. The default, {NO_CORS_ORIGIN}, is no page's origin: no cross-origin access.",
        }
    return out


def cors_origins() -> list[Any]:
    """``AllowOrigins`` of the HTTP API (SAM resolves the Ref when it transforms the template)."""
    return [{"Ref": CORS_ORIGIN}]

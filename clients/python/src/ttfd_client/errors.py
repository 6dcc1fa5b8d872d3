"""Typed exceptions, one per error code the service returns (``extensions.code``)."""

from __future__ import annotations

from typing import Any, Dict, Optional


class TtfdError(Exception):
    """Every error this client raises. ``code`` is the service's error code, when it gave one."""

    code: Optional[str] = None

    def __init__(self, message: str, *, extensions: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: Dict[str, Any] = dict(extensions or {})


class NotFound(TtfdError):
    code = "NOT_FOUND"


class Conflict(TtfdError):
    code = "CONFLICT"


class InvalidInput(TtfdError):
    code = "INVALID_INPUT"


class InsufficientCoins(TtfdError):
    code = "INSUFFICIENT_COINS"

    @property
    def balance(self) -> Optional[int]:
        return self.extensions.get("balance")


class AlreadyClaimed(TtfdError):
    code = "ALREADY_CLAIMED"


class Forbidden(TtfdError):
    code = "FORBIDDEN"


class Unauthenticated(TtfdError):
    code = "UNAUTHENTICATED"


class RateLimited(TtfdError):
    code = "RATE_LIMITED"

    @property
    def retry_after(self) -> float:
        """Seconds to wait before the next request."""
        return float(self.extensions.get("retryAfter", 1))


class InternalError(TtfdError):
    code = "INTERNAL"


class TransportError(TtfdError):
    """The service could not be reached, or answered with something that is not GraphQL, on
    every attempt. A state-changing call that ends here may or may not have been applied:
    call it again with the same ``idempotency_key`` to find out without applying it twice."""


class GraphQLError(TtfdError):
    """A GraphQL error without a known code (a malformed document, for example)."""


_BY_CODE = {
    cls.code: cls
    for cls in (
        NotFound,
        Conflict,
        InvalidInput,
        InsufficientCoins,
        AlreadyClaimed,
        Forbidden,
        Unauthenticated,
        RateLimited,
        InternalError,
    )
}


def error_from(error: Dict[str, Any]) -> TtfdError:
    """The exception for one entry of a response's ``errors``."""
    extensions = error.get("extensions") or {}
    cls = _BY_CODE.get(extensions.get("code"), GraphQLError)
    return cls(str(error.get("message", "error")), extensions=extensions)

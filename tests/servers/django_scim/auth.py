"""Bearer-token authentication for the fixture.

django-scim2 only *checks* ``request.user.is_authenticated`` (its
SCIMAuthCheckMiddleware answers 401 otherwise, and only under /scim/v2/); it
never authenticates. Its GET_IS_AUTHENTICATED_PREDICATE receives only the user,
not the request, so it cannot see the Authorization header -- hence this
middleware. A valid ``Authorization: Bearer <DJANGO_SCIM_TOKEN>`` becomes an
authenticated pseudo-user (which django-scim2's own check then accepts); any
other request, on any path, gets the same bare 401 django-scim2 would send.
"""

import hmac
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse


class TokenClient(AnonymousUser):
    """Authenticated stand-in for the provisioning client (no DB row needed)."""

    @property
    def is_anonymous(self) -> bool:  # type: ignore[override]
        return False

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True


class BearerTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.token: str = settings.SCIM_BEARER_TOKEN
        self.challenge: str = settings.SCIM_SERVICE_PROVIDER["WWW_AUTHENTICATE_HEADER"]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        ok = (
            bool(self.token)  # an unset token must never match an empty credential
            and scheme.lower() == "bearer"  # auth schemes are case-insensitive (RFC 7235)
            and hmac.compare_digest(credentials.strip().encode(), self.token.encode())
        )
        if not ok:
            # Same shape as django-scim2's own rejection: empty body + challenge.
            response = HttpResponse(status=401)
            response["WWW-Authenticate"] = self.challenge
            return response
        request.user = TokenClient()
        return self.get_response(request)

"""Settings for the django-scim2 test fixture.

Everything run-specific comes from the environment, which ``serve.py`` fills in
before Django starts: DJANGO_SCIM_DB (SQLite path), DJANGO_SCIM_NETLOC
(host:port used in ``meta.location``/Location headers) and DJANGO_SCIM_TOKEN.
"""

import os

SECRET_KEY = "test-fixture-not-secret"  # nothing here is signed or persisted
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "tests.servers.django_scim.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",  # required by contrib.auth
    "django.contrib.auth",  # AbstractUser
    "django_scim",
    "tests.servers.django_scim.apps.FixtureConfig",
]
AUTH_USER_MODEL = "scimfixture.User"

# No sessions and no CsrfViewMiddleware: the API is token-authenticated, and
# django-scim2's views are csrf_exempt anyway.
MIDDLEWARE = [
    "tests.servers.django_scim.auth.BearerTokenMiddleware",
    "django_scim.middleware.SCIMAuthCheckMiddleware",
]

# Django's default SQLite settings, as a user would deploy it: no lock timeout tuning, no
# WAL. The server is threaded, so concurrent writes can fail with `500: database is
# locked` (QUIRKS.md §14); scimrec must cope with that, so the tests must see it.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SCIM_DB", ":memory:"),
    }
}

SCIM_BEARER_TOKEN = os.environ.get("DJANGO_SCIM_TOKEN", "")

SCIM_SERVICE_PROVIDER = {
    "NETLOC": os.environ.get("DJANGO_SCIM_NETLOC", "127.0.0.1:8000"),
    "SCHEME": "http",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Static bearer token taken from DJANGO_SCIM_TOKEN",
            "primary": True,
        }
    ],
    # The default (django.contrib.auth.models.Group) has no scim_id /
    # scim_external_id columns: every Groups call then fails with 500.
    "GROUP_MODEL": "tests.servers.django_scim.models.Group",
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="scim"',
    # Put exception text in 500 bodies; this is a test server.
    "EXPOSE_SCIM_EXCEPTIONS": True,
}

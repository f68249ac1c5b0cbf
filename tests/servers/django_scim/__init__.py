"""Minimal Django project serving django-scim2 on SQLite, used as an end-to-end
SCIM target. Start it with ``python -m tests.servers.django_scim.serve``; see
QUIRKS.md for how django-scim2 departs from RFC 7643/7644."""

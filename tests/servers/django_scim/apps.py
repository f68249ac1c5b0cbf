from django.apps import AppConfig


class FixtureConfig(AppConfig):
    # The package is called ``django_scim`` like the library's own app, so give it
    # a distinct label or Django refuses to load both.
    name = "tests.servers.django_scim"
    label = "scimfixture"
    default_auto_field = "django.db.models.BigAutoField"

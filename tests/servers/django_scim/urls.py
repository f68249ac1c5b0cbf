from django.urls import include, path

# django-scim2 requires the "scim" namespace (it reverses "scim:users" etc.).
urlpatterns = [path("scim/v2/", include("django_scim.urls", namespace="scim"))]

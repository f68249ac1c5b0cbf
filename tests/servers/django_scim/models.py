from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Group(AbstractSCIMGroupMixin):
    """SCIM group.

    ``django.contrib.auth.models.Group`` cannot be used as-is: django-scim2 looks
    groups up by ``scim_id`` and writes ``scim_external_id``, which only the mixin
    provides. ``name`` mirrors auth.Group (the stock adapter reads/writes
    ``obj.name``), including its uniqueness.
    """

    name = models.CharField(max_length=150, unique=True)


class User(AbstractSCIMUserMixin, AbstractUser):
    # The stock adapters walk user -> groups via ``scim_groups`` and
    # group -> users via ``user_set``; the mixin leaves ``scim_groups`` abstract.
    scim_groups = models.ManyToManyField(Group, related_name="user_set", blank=True)

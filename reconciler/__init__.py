"""scimrec: keep SCIM 2.0 targets in line with users and groups declared in YAML."""

__version__ = "0.1.0"

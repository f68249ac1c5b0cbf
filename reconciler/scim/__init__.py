"""The wire (RFC 7644): the client, paging, test connection and import (reading the
target), write bodies, applying a plan, redaction and the sandbox target.
"""

"""Entra ID's attribute-mapping expression language: parser, function table, and the
.NET behaviours it relies on, in pure Python.
"""

"""Credentials, roles and the audit log, shared by every service (tables in schema ``auth``)."""

"""Tenants: named API keys, the voices each owns, and where the keys come from (env, file, Secrets Manager),
re-read periodically so a rotation needs no restart.

keyring.py parses and checks a key document; sources.py reads one; refresh.py keeps the last good keyring and
re-reads on an interval; access.py decides who may see, use and delete a voice.
"""

from service.tenants.keyring import ADMIN_TENANT, LEGACY_TENANT, KeyFormatError, Keyring, Tenant

__all__ = ["ADMIN_TENANT", "LEGACY_TENANT", "KeyFormatError", "Keyring", "Tenant"]

"""Who may do what with a saved voice: the one place for the tenant rules.

A tenant sees and uses its own voices and shared ones; it deletes only its own; an admin sees, uses and deletes all.
A voice another tenant may not see is answered exactly like a voice that does not exist (404 / unknown voice), so
a key learns nothing about other tenants' voices from reading them. Saving under a name another tenant holds is
409: names are one namespace per store (the engine caches speakers by name).
"""

from __future__ import annotations

from service.tenants.keyring import Tenant
from service.voices.store import SavedVoice


def can_use(voice: SavedVoice, tenant: Tenant) -> bool:
    return tenant.admin or voice.shared or voice.owner == tenant.name


def can_delete(voice: SavedVoice, tenant: Tenant) -> bool:
    return tenant.admin or voice.owner == tenant.name

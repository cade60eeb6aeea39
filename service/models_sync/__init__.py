"""Model weights between a local directory and the environment's models bucket (`voicefleet-models`)."""

from service.models_sync.manifest import SyncError, UsageError
from service.models_sync.transfer import SyncReport, pull, push

__all__ = ["SyncError", "SyncReport", "UsageError", "pull", "push"]

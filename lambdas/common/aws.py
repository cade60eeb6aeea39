"""How the handlers build their boto3 clients inside Lambda."""

from __future__ import annotations

from botocore.config import Config

# Standard retry mode retries throttling and transient errors with exponential backoff and jitter; 5 attempts keeps
# a throttled call well inside the functions' timeouts while riding out a short burst of "Rate exceeded".
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=15)

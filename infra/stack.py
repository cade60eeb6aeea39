"""The per-environment stack: composes one construct per concern."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.config import EnvironmentConfig


class VoiceFleetStack(cdk.Stack):
    """Everything one environment needs: network, storage, CDN, fleet, schedules, Spot handling, monitoring."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=config.region),
            description=f"voicefleet {config.name}: CosyVoice3 TTS on Spot GPUs",
            **kwargs,
        )
        self.config = config
        cdk.Tags.of(self).add("voicefleet:env", config.name)

"""Names the stacks, the instance boot and the service share, with no aws_cdk import (the boot rehearsal renders
the user data in the instance runtime, which has no CDK)."""

from __future__ import annotations

OUTPUTS_PREFIX = "audio/"
VOICES_PREFIX = "voices/"
METRIC_NAMESPACE = "VoiceFleet"
# The tag every resource of an environment carries; Budgets filter on it once it is an active cost-allocation tag.
ENV_TAG_KEY = "voicefleet:env"

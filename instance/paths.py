"""Where things live on an instance: the image (infra/image, runtime/image_build.py) and the boot agree on these."""

from __future__ import annotations

from pathlib import PurePosixPath

PREFIX = PurePosixPath("/opt/voicefleet")
VENV = PREFIX / "venv"
BIN = VENV / "bin"
UPSTREAM = PREFIX / "src" / "CosyVoice"
BAKED_MODELS = PREFIX / "models"  # weights baked into an environment's image, under the model prefix
ETC = PurePosixPath("/etc/voicefleet")
BOOT_CONFIG = ETC / "boot.json"
SERVICE_ENV = ETC / "service.env"  # the service's settings and keys: root and the service user only (0640)
INSTANCE_ENV = ETC / "instance.env"  # region (+ SDK endpoint overrides, never set on AWS) for the root units
SYSTEMD = PurePosixPath("/etc/systemd/system")
# systemd's StateDirectory=/CacheDirectory= for the service user (created and owned for it by systemd).
STATE = PurePosixPath("/var/lib/voicefleet")
CACHE = PurePosixPath("/var/cache/voicefleet")
NVME = PurePosixPath("/opt/dlami/nvme")  # the DLAMI mounts the instance store (NVMe) here when the type has one
SERVICE_USER = "voicefleet"
SERVICE_UNIT = "voicefleet.service"
GATE_UNIT = "voicefleet-gate.service"
WATCH_UNIT = "voicefleet-lifecycle.service"

# The launch gate's one synthesis: upstream's own zero-shot prompt and its transcript (example.py), which the image
# carries with upstream's source, so every engine and model can be asked for a cloned sentence at boot.
SELFTEST_PROMPT = UPSTREAM / "asset" / "zero_shot_prompt.wav"
SELFTEST_PROMPT_TEXT = "希望你以后能够做的比我还好呦。"
SELFTEST_TEXT = "你好。"

# The CloudWatch agent (baked into the image by Image Builder's amazon-cloudwatch-agent-linux component).
AGENT_DIR = PurePosixPath("/opt/aws/amazon-cloudwatch-agent")
AGENT_CTL = AGENT_DIR / "bin" / "amazon-cloudwatch-agent-ctl"
AGENT_CONFIG = AGENT_DIR / "etc" / "voicefleet.json"
PROMETHEUS_CONFIG = AGENT_DIR / "etc" / "prometheus.yaml"
# Filled in at boot from IMDS `instance-life-cycle` ("spot" / "on-demand"): lets the dashboard count instances by
# purchase option, which no built-in Auto Scaling metric does.
PURCHASE_OPTION_PLACEHOLDER = "__PURCHASE_OPTION__"
BOOT_LOG = PurePosixPath("/var/log/voicefleet-boot.log")
SERVICE_LOG = PurePosixPath("/var/log/voicefleet/service.log")

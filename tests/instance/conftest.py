"""The boot agent against moto on loopback (S3, Secrets Manager, Auto Scaling with its lifecycle hooks, CloudWatch),
a fake metadata service, and a temporary root with a recording command runner (systemctl, the agent's ctl)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from benchmarks.drills.imds import FakeImds
from infra.fleet.user_data import BootNames, boot_config
from instance.aws import Clients
from instance.config import BootConfig
from instance.host import Host
from instance.imds import Imds
from service.models_sync.transfer import push
from tests import moto_lifecycle
from voicefleet_config import load_environment

GROUP = "voicefleet-dev-gpu"
INSTANCE = "i-0123456789abcdef0"
API_KEY = "k" * 24
ADMIN_KEY = "a" * 24


@dataclass
class Recorder:
    """Records every command; answers from `answers` (exit code, stdout) by the command's first two words."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    answers: dict[tuple[str, ...], tuple[int, str]] = field(default_factory=dict)

    def __call__(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(tuple(args))
        code, out = self.answers.get(tuple(args[:2]), (0, ""))
        return subprocess.CompletedProcess(list(args), code, out, "" if code == 0 else out)


@dataclass
class World:
    config: BootConfig
    host: Host
    runner: Recorder
    imds: FakeImds
    clients: Clients
    hook_calls: list[dict[str, str]]
    aws: Callable[..., Any]

    def metric_names(self) -> list[str]:
        listed = self.aws("cloudwatch").list_metrics(Namespace="VoiceFleet")["Metrics"]
        return sorted(m["MetricName"] for m in listed)


def _group(aws: Callable[..., Any]) -> None:
    ec2 = aws("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="voicefleet-lt", LaunchTemplateData={"ImageId": image})
    autoscaling = aws("autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=GROUP, LaunchTemplate={"LaunchTemplateName": "voicefleet-lt"}, MinSize=0, MaxSize=1,
        AvailabilityZones=["us-east-1a"],
    )  # fmt: skip
    for name, transition in (("voicefleet-launch", "LAUNCHING"), ("voicefleet-drain", "TERMINATING")):
        autoscaling.put_lifecycle_hook(
            LifecycleHookName=name,
            AutoScalingGroupName=GROUP,
            LifecycleTransition=f"autoscaling:EC2_INSTANCE_{transition}",
        )


@pytest.fixture
def imds() -> Iterator[FakeImds]:
    server = FakeImds()
    server.meta.update({"instance-id": INSTANCE, "instance-life-cycle": "spot"})
    yield server
    server.close()


@pytest.fixture
def world(aws_client: Callable[..., Any], imds: FakeImds, tmp_path: Path) -> World:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="models")
    model = tmp_path / "model"
    model.mkdir()
    (model / "cosyvoice3.yaml").write_text("sample_rate: 24000\n")
    (model / "llm.pt").write_bytes(b"\0" * 4096)
    push(s3, "models", "cosyvoice3/", model)
    secrets = aws_client("secretsmanager")
    keys = secrets.create_secret(Name="keys", SecretString=API_KEY)["ARN"]
    admin = secrets.create_secret(Name="admin", SecretString=ADMIN_KEY)["ARN"]
    _group(aws_client)
    names = BootNames(
        asg_name=GROUP, models_bucket="models", outputs_bucket="outputs", cdn_domain="d1.cloudfront.net",
        api_keys_secret=keys, admin_key_secret=admin, log_group="/voicefleet/dev/instances",
    )  # fmt: skip
    root = tmp_path / "root"
    agent = root / "opt/aws/amazon-cloudwatch-agent/etc/voicefleet.json"
    agent.parent.mkdir(parents=True)
    agent.write_text('{"PurchaseOption": "__PURCHASE_OPTION__"}')
    runner = Recorder()
    clients = Clients(aws_client("autoscaling"), aws_client("cloudwatch"), s3, secrets)
    return World(
        config=boot_config(load_environment("dev"), names),
        host=Host(root=root, runner=runner, set_owners=False),
        runner=runner,
        imds=imds,
        clients=clients,
        hook_calls=moto_lifecycle.install(),
        aws=aws_client,
    )


@pytest.fixture
def metadata(world: World) -> Imds:
    return Imds(world.imds.url, attempts=1)

"""Every environment's real user data, run as cloud-init would on a fresh instance of the image (a new sandbox layer):
settings, keys and (dev) weights through boto3 against moto, the CloudWatch agent's config through the agent's own
schema, the units through the systemctl stand-in, the gate completing the launch hook; then the service, started
from its unit's own command line as its user, answers /readyz 200 and a synthesized request.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from benchmarks.drills.imds import FakeImds
from infra.fleet.user_data import BootNames, render
from infra.image.components import weights_document
from instance.paths import SERVICE_UNIT
from service.models_sync.transfer import push
from service.tenants.keyring import Keyring
from tests import moto_lifecycle
from tests.awstoe import problems, run_phase
from tests.boot.conftest import Image, Timings, aws, network_env, s3_fetch
from tests.boot.sandbox import Sandbox
from voicefleet_config import EnvironmentConfig, load_environment, load_environments

# The upstream prompt the gate and these tests clone (the image carries it with upstream's source).
PROMPT = "/opt/voicefleet/src/CosyVoice/asset/zero_shot_prompt.wav"
PROMPT_TEXT = "希望你以后能够做的比我还好呦。"
# Every environment cdk.json defines.
ENVIRONMENTS = sorted(load_environments())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Boot:
    env: str
    config: EnvironmentConfig
    sandbox: Sandbox
    layer: str
    instance_id: str
    result: Any  # the user data's CompletedProcess
    seconds: float
    api_key: str
    moto: str

    def path(self, path: str) -> Path:
        return self.sandbox.host_path(self.layer, path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.fleet.service_port}"

    def uid(self, user: str) -> int:
        for line in self.path("/etc/passwd").read_text().splitlines():
            name, _, uid, *_ = line.split(":")
            if name == user:
                return int(uid)
        raise KeyError(user)


# The API keys secret: prod holds a tenants' key document as an operator pastes it (formatted over lines; keys with a
# quote, a backslash, an apostrophe and a dollar sign), which the boot must carry through service.env to systemd, the
# service and the gate unchanged; any other environment the stack's generated form (one key).
_API_KEYS = {
    "prod": json.dumps(
        {"acme": ['prod-acme-"key"-0123456789abcdef'], "globex": {"keys": ["prod-globex-it's-$x-\\-0123456789"]}},
        indent=2,
    ),
}


def _aws_world(moto: str, env: str, tiny_model: Path) -> BootNames:
    """What `cdk deploy` and `voicefleet-models push` leave for this environment (in moto)."""
    s3 = aws(moto, "s3")
    for bucket in (f"{env}-models", f"{env}-outputs"):
        s3.create_bucket(Bucket=bucket)
    push(s3, f"{env}-models", "cosyvoice3/", tiny_model)
    secrets = aws(moto, "secretsmanager")
    keys = secrets.create_secret(
        Name=f"{env}-keys", SecretString=_API_KEYS.get(env, f"{env}-client-key-0123456789abcdef")
    )["ARN"]
    admin = secrets.create_secret(Name=f"{env}-admin", SecretString=f"{env}-admin-key-0123456789abcdef")["ARN"]
    ec2 = aws(moto, "ec2")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName=f"{env}-template", LaunchTemplateData={"ImageId": ami})
    autoscaling = aws(moto, "autoscaling")
    group = f"voicefleet-{env}-gpu"
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group, LaunchTemplate={"LaunchTemplateName": f"{env}-template"}, MinSize=0, MaxSize=1,
        AvailabilityZones=["us-east-1a"],
    )  # fmt: skip
    for hook, transition in (("voicefleet-launch", "LAUNCHING"), ("voicefleet-drain", "TERMINATING")):
        autoscaling.put_lifecycle_hook(
            LifecycleHookName=hook,
            AutoScalingGroupName=group,
            LifecycleTransition=f"autoscaling:EC2_INSTANCE_{transition}",
        )
    return BootNames(
        asg_name=group, models_bucket=f"{env}-models", outputs_bucket=f"{env}-outputs", cdn_domain="d1.cloudfront.net",
        api_keys_secret=keys, admin_key_secret=admin, log_group=f"/voicefleet/{env}/instances",
    )  # fmt: skip


def _bake(image: Image, moto: str, imds: FakeImds, env: str, names: BootNames, timings: Timings) -> str:
    """A baked environment's weights image: its component's build and validate phases, on the runtime image."""
    config = load_environment(env)
    document = weights_document(bucket=names.models_bucket, prefix=config.service.model_prefix, region=config.region)
    assert problems(document) == []
    layer = image.sandbox.layer(f"{env}-weights", on=(image.layer,))
    sdk = {"AWS_ENDPOINT_URL": moto, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
    started = time.monotonic()
    for phase in ("build", "validate"):
        run_phase(
            document,
            phase,
            execute=lambda argv: image.sandbox.run(layer, argv, {**network_env(), **sdk}, timeout=600),
            s3_download=s3_fetch(image.sandbox, layer, aws(moto, "s3")),
        )
    timings.record(f"{env}: weights image build + validate", started)
    return layer


# The boot agent's events (instance/prepare.py, instance/gate.py), in the order a boot logs them.
_EVENTS = (("weights", "keys and weights in place"), ("ready", "/readyz 200"), ("selftest", "one synthesis done"))


def _boot_steps(env: str, log: Path, timings: Timings) -> None:
    """Seconds from the user data's first line to each step, from the boot log's own timestamps."""
    lines = log.read_text().splitlines() if log.is_file() else []
    start = next((line.split()[-1] for line in lines if line.startswith("voicefleet boot start ")), None)
    if start is None:
        return
    began = dt.datetime.fromisoformat(start)
    for line in lines:
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        for event, name in _EVENTS:
            if record.get("event") == event:
                at = dt.datetime.fromisoformat(record["time"])
                timings.steps[f"{env}: boot start -> {name}"] = round((at - began).total_seconds(), 1)


def _no_gpu(sandbox: Sandbox, layer: str) -> None:
    """This machine has no GPU: the one edit to the instance is a systemd drop-in (as an operator would add one)
    whose environment file, read after the unit's own, runs the engine on the CPU without fp16. Everything else is
    the unit as rendered."""
    env_file = "/etc/voicefleet-rehearsal/no-gpu.env"
    target = sandbox.host_path(layer, env_file)
    target.parent.mkdir(parents=True)
    target.write_text("TTS_DEVICE=cpu\nTTS_FP16=false\n")
    dropin = sandbox.host_path(layer, f"/etc/systemd/system/{SERVICE_UNIT}.d/rehearsal-no-gpu.conf")
    dropin.parent.mkdir(parents=True)
    dropin.write_text(f"[Service]\nEnvironmentFile={env_file}\n")


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def boot(
    request: pytest.FixtureRequest, image: Image, moto: str, imds: FakeImds, tiny_model: Path, timings: Timings
) -> Iterator[Boot]:
    env = str(request.param)
    config = load_environment(env)
    # A free port instead of 8000 (this machine runs other services); it is the environment's own setting.
    config = config.model_copy(update={"fleet": config.fleet.model_copy(update={"service_port": _free_port()})})
    names = _aws_world(moto, env, tiny_model)
    below: tuple[str, ...] = (image.layer,)
    if config.image.weights == "baked":
        below = (image.layer, _bake(image, moto, imds, env, names, timings))
    instance_id = f"i-0{env}0000000000000"[:19]
    imds.meta.update({"instance-id": instance_id, "autoscaling/target-lifecycle-state": "InService"})
    layer = image.sandbox.layer(f"{env}-boot", on=below)
    _no_gpu(image.sandbox, layer)
    script = image.sandbox.root / f"user-data-{env}.sh"
    script.write_text(render(config, names, stop_timeout_s=90))
    # cloud-init runs the user data as root with a plain environment; boto3's own endpoint variables point it at
    # moto and the fake metadata service (which also hands out the instance role's credentials).
    environ = {**network_env(), "AWS_ENDPOINT_URL": moto, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
    started = time.monotonic()
    result = image.sandbox.run(layer, ["bash", str(script)], environ, timeout=1200)
    seconds = time.monotonic() - started
    timings.record(f"{env}: user data to launch hook CONTINUE", started)
    _boot_steps(env, image.sandbox.host_path(layer, "/var/log/voicefleet-boot.log"), timings)
    secret = aws(moto, "secretsmanager").get_secret_value(SecretId=names.api_keys_secret)["SecretString"]
    key = Keyring.parse(secret).entries[-1][0].decode("utf-8")  # prod: the globex key, quotes, backslash and all
    yield Boot(env, config, image.sandbox, layer, instance_id, result, seconds, key, moto)
    image.sandbox.run(layer, ["systemctl", "stop", "voicefleet.service"], network_env(), timeout=120)
    image.sandbox.stop_everything()


def test_user_data_completes_the_launch_hook_with_continue(boot: Boot) -> None:
    log = boot.path("/var/log/voicefleet-boot.log").read_text()
    assert boot.result.returncode == 0, f"{boot.result.stdout[-3000:]}\n{boot.result.stderr[-3000:]}\n{log[-3000:]}"
    assert "voicefleet boot done" in log
    assert "launch abandoned" not in log
    continues = [c for c in moto_lifecycle.CALLS if c["instance"] == boot.instance_id]
    assert continues == [
        {"group": f"voicefleet-{boot.env}-gpu", "hook": "voicefleet-launch", "instance": boot.instance_id,
         "result": "CONTINUE"}
    ]  # fmt: skip
    metrics = aws(boot.moto, "cloudwatch").list_metrics(Namespace="VoiceFleet", MetricName="BootSeconds")["Metrics"]
    assert {"Name": "Environment", "Value": boot.env} in [d for m in metrics for d in m["Dimensions"]]


def test_the_unit_serves_readyz_and_a_synthesized_request(boot: Boot) -> None:
    """The service the unit started (ExecStart, as its User, with its EnvironmentFile): /readyz 200, then a client's
    cloned sentence with the environment's API key."""
    with httpx.Client(base_url=boot.url, timeout=300) as http:
        assert http.get("/readyz").status_code == 200
        assert http.post("/v1/tts", data={"text": "你好。"}).status_code == 401  # keys are on
        with boot.path(PROMPT).open("rb") as clip:
            response = http.post(
                "/v1/tts",
                data={"text": "八百标兵奔北坡。", "prompt_text": PROMPT_TEXT, "format": "wav"},
                files={"prompt_audio": ("prompt.wav", clip, "audio/wav")},
                headers={"Authorization": f"Bearer {boot.api_key}"},
            )
    assert response.status_code == 200, response.text
    audio, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    assert rate == 24000
    assert np.asarray(audio).size > 0


def _service_environ(boot: Boot) -> tuple[int, dict[str, str]]:
    """(pid, environment) of the service process the unit started."""
    pid = int(boot.path("/var/lib/voicefleet-shim/voicefleet.service.pid").read_text().split()[1])
    pairs = Path(f"/proc/{pid}/environ").read_text().split("\0")
    return pid, dict(item.split("=", 1) for item in pairs if "=" in item)


def test_the_service_runs_as_its_user_with_its_units_environment(boot: Boot) -> None:
    pid, environ = _service_environ(boot)
    assert f"Uid:\t{boot.uid('voicefleet')}" in Path(f"/proc/{pid}/status").read_text()
    assert environ["STATE_DIRECTORY"] == "/var/lib/voicefleet"
    assert environ["CACHE_DIRECTORY"] == "/var/cache/voicefleet"
    assert environ["TTS_ENVIRONMENT"] == boot.env  # from the EnvironmentFile the boot agent wrote
    settings = boot.path("/etc/voicefleet/service.env")
    assert stat.S_IMODE(settings.stat().st_mode) == 0o640
    assert settings.stat().st_uid == 0


def test_fault4_the_spool_is_in_the_state_directory_the_service_user_owns(boot: Boot) -> None:
    """Regression (issue 13, fault 4): with an outputs bucket set, tts-serve created /var/spool/voicefleet as the
    service user, which cannot write /var/spool, and exited 2 in a restart loop. The spool is now under the unit's
    StateDirectory, created by the manager and owned by that user."""
    _, environ = _service_environ(boot)
    assert environ["TTS_OUTPUTS_BUCKET"] == f"{boot.env}-outputs"
    spool = boot.path("/var/lib/voicefleet/spool")
    assert spool.is_dir()
    assert spool.stat().st_uid == boot.uid("voicefleet")
    assert not boot.path("/var/spool/voicefleet").exists()


def test_fault5_numba_caches_where_the_service_user_can_write(boot: Boot) -> None:
    """Regression (issue 13, fault 5): librosa's numba functions are compiled with cache=True when librosa.util loads
    (CosyVoice's frontend reaches it), and numba refuses ("cannot cache function ... no locator available") when no
    cache directory is writable: HOME and the venv are root-owned. The unit points NUMBA_CACHE_DIR into its
    CacheDirectory. Rehearsed as the service user with the unit's own environment, and without it (the fault)."""
    _, environ = _service_environ(boot)
    assert environ["NUMBA_CACHE_DIR"] == "/var/cache/voicefleet/numba"
    as_user = ["setpriv", "--reuid=voicefleet", "--regid=voicefleet", "--init-groups", "--"]
    code = "import numpy, librosa; librosa.util.localmax(numpy.arange(5.0))"
    python = [*as_user, "/opt/voicefleet/venv/bin/python", "-c", code]
    done = boot.sandbox.run(boot.layer, python, environ, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    numba = boot.path("/var/cache/voicefleet/numba")
    assert numba.stat().st_uid == boot.uid("voicefleet")
    assert any(numba.rglob("*.nbi")), "numba cached nothing"
    # The fault, as it was: no cache settings in the unit, HOME root's.
    unset = ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "CACHE_DIRECTORY", "STATE_DIRECTORY")
    before = {**{k: v for k, v in environ.items() if k not in unset}, "HOME": "/root"}
    failed = boot.sandbox.run(boot.layer, python, before, timeout=600)
    assert failed.returncode != 0
    assert "no locator available" in failed.stderr, failed.stderr[-3000:]


def test_fault1_the_cloudwatch_agent_accepted_its_config(boot: Boot) -> None:
    """Regression (issue 13, fault 1), in the boot: the control script's stand-in validated the agent config the user
    data wrote against the agent's own schema (tests/boot/cwagent_shim.py) and recorded what it accepted."""
    accepted = json.loads(boot.path("/opt/aws/amazon-cloudwatch-agent/etc/accepted-by-rehearsal.json").read_text())
    assert "prometheus" in accepted["logs"]["metrics_collected"]
    assert json.dumps(accepted).count("__PURCHASE_OPTION__") == 0
    assert '"PurchaseOption": "spot"' in json.dumps(accepted)
    assert "CloudWatch agent not started" not in boot.path("/var/log/voicefleet-boot.log").read_text()


def test_weights_came_from_where_the_environment_says(boot: Boot) -> None:
    if boot.config.image.weights == "pulled":
        # dev: pulled at boot onto the NVMe instance store (checksums verified by voicefleet-models pull).
        assert boot.path("/opt/dlami/nvme/voicefleet/models/cosyvoice3/llm.pt").is_file()
        assert "TTS_MODEL_DIR=/opt/dlami/nvme/voicefleet/models/cosyvoice3" in _settings(boot)
    else:
        # prod: baked into its weights image, nothing downloaded at boot.
        assert (boot.sandbox.voicefleet / "models" / "cosyvoice3" / "llm.pt").is_file()
        assert not boot.path("/opt/dlami/nvme/voicefleet").exists()
        assert "TTS_MODEL_DIR=/opt/voicefleet/models/cosyvoice3" in _settings(boot)


def _settings(boot: Boot) -> str:
    return boot.path("/etc/voicefleet/service.env").read_text()


def test_a_boot_that_cannot_read_its_keys_abandons_its_launch_with_the_reason(
    image: Image, moto: str, imds: FakeImds, tiny_model: Path
) -> None:
    """The failure path, rehearsed the same way: the real user data on a fresh instance of the image, its key secret
    gone (deleted after deploy). The boot agent ends the launch at once: ABANDON on the launch hook, the reason in
    the boot log, a LaunchAbandoned datapoint; the user data exits non-zero and no service is started."""
    config = load_environment("dev")
    config = config.model_copy(update={"fleet": config.fleet.model_copy(update={"service_port": _free_port()})})
    names = _aws_world(moto, "broken", tiny_model)
    aws(moto, "secretsmanager").delete_secret(SecretId=names.api_keys_secret, ForceDeleteWithoutRecovery=True)
    instance_id = "i-0broken0000000000"
    saved = dict(imds.meta)
    imds.meta.update({"instance-id": instance_id, "autoscaling/target-lifecycle-state": "InService"})
    layer = image.sandbox.layer("broken-boot", on=(image.layer,))
    script = image.sandbox.root / "user-data-broken.sh"
    script.write_text(render(config, names, stop_timeout_s=90))
    environ = {**network_env(), "AWS_ENDPOINT_URL": moto, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
    try:
        result = image.sandbox.run(layer, ["bash", str(script)], environ, timeout=600)
    finally:
        imds.meta.clear()
        imds.meta.update(saved)
    log = image.sandbox.host_path(layer, "/var/log/voicefleet-boot.log").read_text()
    assert result.returncode != 0
    assert "launch abandoned: prepare:" in log
    assert "ResourceNotFoundException" in log
    assert "voicefleet boot done" not in log
    calls = [c for c in moto_lifecycle.CALLS if c["instance"] == instance_id]
    assert calls == [
        {"group": "voicefleet-broken-gpu", "hook": "voicefleet-launch", "instance": instance_id, "result": "ABANDON"}
    ]
    metrics = aws(moto, "cloudwatch").list_metrics(Namespace="VoiceFleet", MetricName="LaunchAbandoned")["Metrics"]
    assert {"Name": "Environment", "Value": "dev"} in [d for m in metrics for d in m["Dimensions"]]
    assert not image.sandbox.host_path(layer, "/var/lib/voicefleet-shim/voicefleet.service.pid").exists()

"""`voicefleet-instance prepare`: keys and weights fetched through the real boto3 calls (moto), settings written for
the service user only, units started; any failing step ends the launch with its reason."""

from __future__ import annotations

import json
import stat

import pytest

from instance.host import Host
from instance.imds import Imds
from instance.prepare import BootStepError, env_file, prepare
from tests.instance.conftest import ADMIN_KEY, API_KEY, GROUP, INSTANCE, World


def test_pulled_weights_keys_settings_and_units(world: World, metadata: Imds) -> None:
    done = prepare(world.config, world.host, metadata, world.clients)
    assert done.instance_id == INSTANCE
    # No NVMe mounted under the test root: the model goes to the service's state directory.
    assert str(done.model_dir) == "/var/lib/voicefleet/models/cosyvoice3"
    assert (world.host.path(str(done.model_dir)) / "llm.pt").stat().st_size == 4096
    env = world.host.path("/etc/voicefleet/service.env")
    assert stat.S_IMODE(env.stat().st_mode) == 0o640
    text = env.read_text()
    expected = (
        f"TTS_API_KEYS={API_KEY}",
        f"TTS_ADMIN_KEY={ADMIN_KEY}",
        "TTS_ENVIRONMENT=dev",
        "TTS_MODEL_DIR=/var/lib/voicefleet/models/cosyvoice3",
        f"TTS_IMDS_ENDPOINT={world.imds.url}",
    )
    for line in expected:
        assert line in text.splitlines(), line
    assert "AWS_DEFAULT_REGION=us-east-1" in world.host.path("/etc/voicefleet/instance.env").read_text()
    assert world.host.path("/opt/aws/amazon-cloudwatch-agent/etc/voicefleet.json").read_text() == (
        '{"PurchaseOption": "spot"}'
    )
    assert world.runner.calls == [
        ("/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl", "-a", "fetch-config", "-m", "ec2", "-s",
         "-c", "file:/opt/aws/amazon-cloudwatch-agent/etc/voicefleet.json"),
        ("systemctl", "daemon-reload"),
        ("systemctl", "enable", "voicefleet.service", "voicefleet-lifecycle.service", "voicefleet-gate.service"),
        ("systemctl", "start", "voicefleet.service", "voicefleet-lifecycle.service"),
    ]  # fmt: skip
    assert world.hook_calls == []  # the gate completes the hook, not prepare


def test_a_warm_pool_launch_prepares_but_starts_nothing(world: World, metadata: Imds) -> None:
    world.imds.meta["autoscaling/target-lifecycle-state"] = "Warmed:Stopped"
    prepare(world.config, world.host, metadata, world.clients)
    assert ("systemctl", "start", "voicefleet.service", "voicefleet-lifecycle.service") not in world.runner.calls


def test_a_cloudwatch_agent_failure_is_logged_and_the_boot_goes_on(
    world: World, metadata: Imds, caplog: pytest.LogCaptureFixture
) -> None:
    world.runner.answers[("/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl", "-a")] = (
        1,
        "E! Invalid Json input schema.",
    )
    prepare(world.config, world.host, metadata, world.clients)
    assert "Invalid Json input schema" in caplog.text
    assert ("systemctl", "start", "voicefleet.service", "voicefleet-lifecycle.service") in world.runner.calls


def test_missing_secret_abandons_the_launch_with_its_reason(
    world: World, metadata: Imds, caplog: pytest.LogCaptureFixture
) -> None:
    world.aws("secretsmanager").delete_secret(SecretId="keys", ForceDeleteWithoutRecovery=True)
    with pytest.raises(BootStepError, match="ResourceNotFoundException"):
        prepare(world.config, world.host, metadata, world.clients)
    assert world.hook_calls == [
        {"group": GROUP, "hook": "voicefleet-launch", "instance": INSTANCE, "result": "ABANDON"}
    ]
    assert world.metric_names() == ["LaunchAbandoned"]
    assert "launch abandoned: prepare:" in caplog.text
    assert not world.host.path("/etc/voicefleet/service.env").exists()


def test_corrupt_weights_abandon(world: World, metadata: Imds) -> None:
    s3 = world.clients.s3
    s3.put_object(Bucket="models", Key="cosyvoice3/llm.pt", Body=b"\1" * 4096, Metadata={"sha256": "0" * 64})
    with pytest.raises(BootStepError, match="checksum mismatch"):
        prepare(world.config, world.host, metadata, world.clients)
    assert [c["result"] for c in world.hook_calls] == ["ABANDON"]


def test_baked_weights_must_be_in_the_image(world: World, metadata: Imds) -> None:
    baked = world.config.model_copy(update={"weights": "baked"})
    with pytest.raises(BootStepError, match="the image has no baked model at /opt/voicefleet/models/cosyvoice3"):
        prepare(baked, world.host, metadata, world.clients)
    manifest = world.host.path("/opt/voicefleet/models/cosyvoice3/.voicefleet-manifest.json")
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    world.hook_calls.clear()
    assert str(prepare(baked, world.host, metadata, world.clients).model_dir) == "/opt/voicefleet/models/cosyvoice3"


def test_the_nvme_instance_store_holds_pulled_weights_when_mounted(world: World, metadata: Imds) -> None:
    class Mounted(Host):
        def is_mountpoint(self, path: object) -> bool:
            return str(path) == "/opt/dlami/nvme"

    host = Mounted(root=world.host.root, runner=world.runner, set_owners=False)
    done = prepare(world.config, host, metadata, world.clients)
    assert str(done.model_dir) == "/opt/dlami/nvme/voicefleet/models/cosyvoice3"
    assert (host.path(str(done.model_dir)) / "llm.pt").is_file()
    # A warm-pool fleet's stopped instances lose the instance store: their model stays on the EBS root.
    warm = world.config.model_copy(update={"use_instance_store": False})
    assert str(warm.model_dir(nvme_mounted=True)) == "/var/lib/voicefleet/models/cosyvoice3"


@pytest.mark.parametrize("value", ["a\nb", "a\rb"])
def test_a_setting_with_a_line_break_is_refused_naming_it(value: str) -> None:
    with pytest.raises(BootStepError, match="TTS_X"):
        env_file({"TTS_X": value})


# A tenants' key document as an operator pastes it into the secret: formatted over lines, keys holding a double
# quote, a backslash, an apostrophe, a dollar sign and a backtick.
ACME_KEY = 'acme-"quoted"-0123456789'
DOCUMENT = {
    "acme": [ACME_KEY, "acme-back\\slash-0123456789"],
    "globex": {"keys": ["globex-it's-$HOME-`x`-0123456789"]},
}


def test_a_tenants_key_document_reaches_the_service_and_the_gate_as_written(world: World, metadata: Imds) -> None:
    """The API keys secret may hold the JSON key document issue 12 introduced (docs/service.md): the boot wrote it
    nowhere before — its quotes made env_file refuse it, so every launch was abandoned. Now service.env carries it
    on one line, and systemd (its own parser, ported) hands the service the same tenants and keys; the gate reads
    the first key of the document back from the same file."""
    from instance.gate import first_api_key
    from service.tenants.keyring import Keyring
    from tests.boot.systemctl_shim import parse_env_file as systemd_reads

    secret = json.dumps(DOCUMENT, indent=2)
    world.aws("secretsmanager").put_secret_value(SecretId="keys", SecretString=secret)
    prepare(world.config, world.host, metadata, world.clients)
    assert world.hook_calls == []  # not abandoned
    env = systemd_reads(world.host.path("/etc/voicefleet/service.env").read_text())
    assert "\n" not in env["TTS_API_KEYS"]
    assert Keyring.parse(env["TTS_API_KEYS"], env["TTS_ADMIN_KEY"]) == Keyring.parse(secret, ADMIN_KEY)
    assert first_api_key(world.host) == ACME_KEY


def test_a_key_document_the_service_would_refuse_ends_the_launch_naming_the_secret(
    world: World, metadata: Imds
) -> None:
    world.aws("secretsmanager").put_secret_value(SecretId="keys", SecretString='{"acme": ["' + "k" * 24 + '"]')
    with pytest.raises(BootStepError, match=r"secrets: secret arn:aws:secretsmanager:.*:keys.*not valid JSON"):
        prepare(world.config, world.host, metadata, world.clients)
    assert [c["result"] for c in world.hook_calls] == ["ABANDON"]
    assert not world.host.path("/etc/voicefleet/service.env").exists()


def test_an_unforeseen_failure_still_abandons_the_launch(world: World, metadata: Imds) -> None:
    """A secret holding binary instead of a string (SecretString absent: KeyError, no boot step's own error) used to
    escape prepare without an ABANDON: the launch then waited out the hook's whole timeout on a GPU."""
    world.aws("secretsmanager").delete_secret(SecretId="keys", ForceDeleteWithoutRecovery=True)
    binary = world.aws("secretsmanager").create_secret(Name="keys-binary", SecretBinary=b"\x00\x01")["ARN"]
    config = world.config.model_copy(update={"api_keys_secret": binary})
    with pytest.raises(BootStepError, match="KeyError"):
        prepare(config, world.host, metadata, world.clients)
    assert [c["result"] for c in world.hook_calls] == ["ABANDON"]
    assert world.metric_names() == ["LaunchAbandoned"]

"""The launch gate against a real service (create_app on uvicorn, espeak engine, API keys on): CONTINUE only after
/readyz 200 and one synthesis; a failed load, a stopped unit or no readiness within the budget ABANDON with the
reason; a launch into the warm pool and a reboot with no pending action are handled."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from instance import gate as gate_module
from instance.gate import GateError, gate
from instance.imds import Imds
from instance.prepare import env_file
from tests.instance.conftest import API_KEY, GROUP, INSTANCE, World
from tests.service.conftest import live_server, make_settings


def _prompt_and_keys(world: World, api_keys: str = API_KEY) -> None:
    """What the image and prepare put there: upstream's prompt clip (here a 3 s tone) and the service settings."""
    prompt = world.host.path("/opt/voicefleet/src/CosyVoice/asset/zero_shot_prompt.wav")
    prompt.parent.mkdir(parents=True)
    t = np.arange(16000 * 3) / 16000
    sf.write(prompt, (0.2 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 16000)
    env = world.host.path("/etc/voicefleet/service.env")
    env.parent.mkdir(parents=True, exist_ok=True)
    env.write_text(env_file({"TTS_ENVIRONMENT": "dev", "TTS_API_KEYS": api_keys}))  # as prepare writes it


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_module, "POLL_S", 0.05)


def test_continue_after_readyz_and_one_synthesis(world: World, metadata: Imds, tmp_path: Path) -> None:
    _prompt_and_keys(world)
    settings = make_settings(api_keys=[API_KEY], voices_dir=tmp_path / "voices")
    with live_server(settings) as live:
        port = int(live.url.rsplit(":", 1)[1])
        config = world.config.model_copy(update={"port": port})
        result = gate(config, world.host, metadata, world.clients, uptime=lambda: 95.0)
        assert live.state.metrics.registry is not None
    assert result.outcome == "continue"
    assert world.hook_calls == [
        {"group": GROUP, "hook": "voicefleet-launch", "instance": INSTANCE, "result": "CONTINUE"}
    ]
    assert world.metric_names() == ["BootSeconds"]


def test_the_synthesis_uses_a_key_of_a_tenants_key_document(world: World, metadata: Imds, tmp_path: Path) -> None:
    """The API keys secret may hold the JSON key document (tenants) rather than a comma list: the gate reads it as the
    service does, so its synthesis is authorized and the launch continues (it used to send the document's first
    comma-separated fragment as the key, be refused 401 and abandon every launch)."""
    document = json.dumps({"acme": [API_KEY, "r" * 24], "globex": "g" * 24})
    _prompt_and_keys(world, api_keys=document)
    settings = make_settings(api_keys=document, voices_dir=tmp_path / "voices")
    with live_server(settings) as live:
        config = world.config.model_copy(update={"port": int(live.url.rsplit(":", 1)[1])})
        result = gate(config, world.host, metadata, world.clients, uptime=lambda: 95.0)
    assert result.outcome == "continue"
    assert world.hook_calls[-1]["result"] == "CONTINUE"


def test_a_failed_model_load_abandons_at_once(world: World, metadata: Imds, tmp_path: Path, fast: None) -> None:
    _prompt_and_keys(world)
    # Passes tts-serve's start-up checks, then fails to load in the background: /readyz answers 503 with the error.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "cosyvoice3.yaml").write_text("not: [a model\n")
    settings = make_settings(api_keys=[API_KEY], engine="cosyvoice3", model_dir=broken, device="cpu")
    with live_server(settings, ready_timeout_s=60) as live:
        config = world.config.model_copy(update={"port": int(live.url.rsplit(":", 1)[1])})
        with pytest.raises(GateError, match="/readyz 503"):
            gate(config, world.host, metadata, world.clients, uptime=lambda: 30.0)
    assert [c["result"] for c in world.hook_calls] == ["ABANDON"]
    assert world.metric_names() == ["LaunchAbandoned"]


class _DropsTheSynthesis(http.server.BaseHTTPRequestHandler):
    """Ready, then the process dies under the boot's synthesis (a CUDA out-of-memory kill): the connection drops."""

    def do_GET(self) -> None:
        body = b'{"status": "ready"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.close_connection = True
        self.connection.close()

    def log_message(self, *args: object) -> None:
        pass


def test_a_connection_dropped_under_the_synthesis_abandons(world: World, metadata: Imds, fast: None) -> None:
    """httpx's own errors (a dropped connection, a read timeout) used to escape the gate: no ABANDON, no
    LaunchAbandoned datapoint, and the launch waited out the hook's whole timeout on a GPU."""
    _prompt_and_keys(world)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DropsTheSynthesis)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = world.config.model_copy(update={"port": server.server_address[1]})
    try:
        # Which of httpx's errors depends on when the close lands: before the body is sent, or after.
        with pytest.raises(GateError, match=r"RemoteProtocolError|ReadError|WriteError"):
            gate(config, world.host, metadata, world.clients, uptime=lambda: 95.0)
    finally:
        server.shutdown()
        server.server_close()
    assert [c["result"] for c in world.hook_calls] == ["ABANDON"]
    assert world.metric_names() == ["LaunchAbandoned"]


def test_a_stopped_unit_abandons_with_the_service_log(world: World, metadata: Imds, fast: None) -> None:
    _prompt_and_keys(world)
    log = world.host.path("/var/log/voicefleet/service.log")
    log.parent.mkdir(parents=True)
    log.write_text("tts-serve: spool dir /var/spool/voicefleet cannot be created (TTS_SPOOL_DIR): Permission denied\n")
    world.runner.answers[("systemctl", "is-active")] = (3, "failed")
    config = world.config.model_copy(update={"port": 9})  # nothing listens there
    with pytest.raises(GateError, match=r"voicefleet.service stopped .*spool dir /var/spool/voicefleet"):
        gate(config, world.host, metadata, world.clients, uptime=lambda: 30.0)
    assert [c["result"] for c in world.hook_calls] == ["ABANDON"]


def test_no_readiness_within_the_budget_abandons_before_the_hook_times_out(
    world: World, metadata: Imds, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prompt_and_keys(world)
    world.runner.answers[("systemctl", "is-active")] = (0, "activating")
    monkeypatch.setattr(gate_module, "MIN_WAIT_S", 0.3)
    config = world.config.model_copy(update={"port": 9, "boot_seconds": 60})
    with pytest.raises(GateError, match="not ready within the boot budget"):
        # 50 s of a 60 s budget gone: the gate keeps its 20 s margin and gives up at once.
        gate(config, world.host, metadata, world.clients, uptime=lambda: 50.0)
    assert [c["result"] for c in world.hook_calls] == ["ABANDON"]


def test_a_warm_pool_launch_continues_without_the_service(world: World, metadata: Imds) -> None:
    world.imds.meta["autoscaling/target-lifecycle-state"] = "Warmed:Pending:Wait"
    result = gate(world.config, world.host, metadata, world.clients, uptime=lambda: 10.0)
    assert result.outcome == "warmed"
    assert [c["result"] for c in world.hook_calls] == ["CONTINUE"]


def test_a_reboot_without_a_pending_action_is_fine(world: World, metadata: Imds, tmp_path: Path) -> None:
    world.aws("autoscaling").delete_lifecycle_hook(LifecycleHookName="voicefleet-launch", AutoScalingGroupName=GROUP)
    world.imds.meta["autoscaling/target-lifecycle-state"] = "Warmed:Running"
    assert gate(world.config, world.host, metadata, world.clients, uptime=lambda: 10.0).outcome == "no-pending-action"


def test_the_prompt_the_gate_sends_is_upstreams_own_clip() -> None:
    from instance.paths import SELFTEST_PROMPT, SELFTEST_PROMPT_TEXT

    assert str(SELFTEST_PROMPT).endswith("CosyVoice/asset/zero_shot_prompt.wav")
    assert SELFTEST_PROMPT_TEXT == "希望你以后能够做的比我还好呦。"  # upstream example.py's transcript
    assert shutil.which("bash")  # the user data that starts the gate is bash (tests/boot runs it)

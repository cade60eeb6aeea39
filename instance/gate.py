"""`voicefleet-instance gate`: the launch lifecycle hook is completed with CONTINUE only once the service answers
/readyz 200 and one synthesis (upstream's own prompt, cloned) comes back as audio. Anything else ends the launch
with its reason (instance.abandon) before the hook's own timeout (fleet.boot_minutes) would, so a broken instance
neither serves nor waits out its budget silently.

Runs as the oneshot unit voicefleet-gate.service on every boot: at first boot (started by the user data), and when
a warm-pool instance is started again. A launch into the warm pool completes at once (the service starts later).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from instance.abandon import abandon, reason_of
from instance.aws import BOOT_SECONDS, Clients, complete_hook, put_metric
from instance.config import BootConfig
from instance.envfile import parse
from instance.host import CommandError, Host
from instance.imds import Imds
from instance.paths import SELFTEST_PROMPT, SELFTEST_PROMPT_TEXT, SELFTEST_TEXT, SERVICE_ENV, SERVICE_LOG, SERVICE_UNIT

log = logging.getLogger("voicefleet.instance")
# Leave this much of the boot budget so that the gate's ABANDON, with its reason, lands before the hook's timeout.
MARGIN_S = 20
MIN_WAIT_S = 60
POLL_S = 2.0


class GateError(RuntimeError):
    """The service is not fit to serve; the message says why."""


@dataclass(frozen=True)
class GateResult:
    outcome: str  # "continue", "warmed", "no-pending-action"
    boot_seconds: float


def uptime_s() -> float:
    """Seconds since the kernel started (EC2's own provisioning before that is not counted)."""
    return float(Path("/proc/uptime").read_text(encoding="ascii").split()[0])


def read_env_file(path: Path) -> dict[str, str]:
    """The service's settings as systemd hands them to it (instance.envfile, the format the boot wrote)."""
    return parse(path.read_text(encoding="utf-8"))


def _log_tail(host: Host, lines: int = 5) -> str:
    try:
        text = host.path(SERVICE_LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no service log)"
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:]) or "(empty service log)"


def wait_ready(http: httpx.Client, host: Host, deadline: float, clock: Callable[[], float]) -> float:
    """Until /readyz is 200; a failed model load or a stopped unit fails at once, with the service's own words."""
    started = clock()
    last = "no answer yet"
    while clock() < deadline:
        try:
            response = http.get("/readyz", timeout=5)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}"
            try:
                state = host.run("systemctl", "is-active", SERVICE_UNIT).strip()
            except CommandError as failed:
                state = str(failed)
            if "failed" in state:
                raise GateError(f"{SERVICE_UNIT} stopped ({state}); service log: {_log_tail(host)}") from exc
        else:
            if response.status_code == 200:
                return clock() - started
            body = response.json() if "json" in response.headers.get("content-type", "") else {}
            if body.get("status") == "failed" or body.get("error"):
                raise GateError(f"/readyz {response.status_code}: {body.get('error') or body}")
            last = f"/readyz {response.status_code} {body.get('status', '')}".strip()
        time.sleep(POLL_S)
    raise GateError(f"not ready within the boot budget ({last}); service log: {_log_tail(host)}")


def first_api_key(host: Host) -> str | None:
    """A key the service accepts, read from its own settings by its own parser (service.tenants.keyring): the API
    keys secret may hold the old comma list or the JSON key document of tenants; the admin key when there is none."""
    from service.tenants.keyring import KeyFormatError, Keyring

    env = read_env_file(host.path(SERVICE_ENV))
    try:
        keyring = Keyring.parse(env.get("TTS_API_KEYS"), env.get("TTS_ADMIN_KEY"))
    except KeyFormatError as exc:
        raise GateError(f"the service's keys cannot be read: {exc}") from exc
    return keyring.entries[0][0].decode("utf-8") if keyring.enabled else None


def synthesize_once(http: httpx.Client, prompt: Path, api_key: str | None, timeout_s: float) -> float:
    """One cloned sentence through the public API, as a client would ask for it; returns its audio seconds."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with prompt.open("rb") as clip:
        response = http.post(
            "/v1/tts",
            data={"text": SELFTEST_TEXT, "prompt_text": SELFTEST_PROMPT_TEXT, "format": "wav"},
            files={"prompt_audio": (prompt.name, clip, "audio/wav")},
            headers=headers,
            timeout=timeout_s,
        )
    if response.status_code != 200:
        raise GateError(f"the boot's synthesis answered {response.status_code}: {response.text[:300]}")
    if not response.headers.get("content-type", "").startswith("audio/wav") or len(response.content) <= 44:
        raise GateError(f"the boot's synthesis returned no audio ({len(response.content)} bytes)")
    return float(response.headers.get("X-Audio-Duration", "0") or 0)


def gate(
    config: BootConfig,
    host: Host,
    imds: Imds,
    clients: Clients,
    *,
    clock: Callable[[], float] = time.monotonic,
    uptime: Callable[[], float] = uptime_s,
) -> GateResult:
    instance_id = imds.require("instance-id")
    state = imds.get("autoscaling/target-lifecycle-state") or "InService"

    def complete(outcome: str) -> GateResult:
        done = complete_hook(
            clients, hook=config.launch_hook, group=config.asg_name, instance_id=instance_id, result="CONTINUE"
        )
        return GateResult(outcome if done else "no-pending-action", uptime())

    if state.startswith("Warmed:"):
        return complete("warmed")
    budget = max(MIN_WAIT_S, config.boot_seconds - uptime() - MARGIN_S)
    base = f"http://127.0.0.1:{config.port}"
    try:
        with httpx.Client(base_url=base) as http:
            waited = wait_ready(http, host, clock() + budget, clock)
            log.info(f"/readyz 200 after {waited:.0f} s of waiting", extra={"event": "ready"})
            audio_s = synthesize_once(
                http, host.path(SELFTEST_PROMPT), first_api_key(host), config.request_timeout_s + 30
            )
            log.info(f"boot synthesis: {audio_s:.2f} s of audio", extra={"event": "selftest"})
    except Exception as exc:
        # Any failure here (a dropped connection, a timeout, a bug) must ABANDON: left alone, the launch would wait out
        # the hook's whole timeout on a GPU that never serves, and no alarm would count it.
        reason = reason_of(exc, GateError)
        abandon(config, clients, instance_id=instance_id, reason=f"gate: {reason}")
        raise GateError(reason) from exc
    seconds = uptime()
    put_metric(
        clients, namespace=config.metric_namespace, env_name=config.env_name, name=BOOT_SECONDS, value=seconds,
        unit="Seconds",
    )  # fmt: skip
    log.info(f"ready {seconds:.0f} s after the kernel started", extra={"event": "boot", "boot_seconds": seconds})
    return complete("continue")

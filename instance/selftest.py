"""`voicefleet-instance selftest [--device cuda:0]`: the image's test phase, run by Image Builder on an instance
launched from the new image (and by the boot rehearsal, on the CPU).

A tiny random CosyVoice3 checkpoint built from upstream's own code (service/models_sync/tiny.py), the service on it
as the service user with the unit's cache settings, then /readyz 200 and one cloned sentence from upstream's prompt.
Proves the image's Python, upstream code, CUDA and service user work together before the image is published.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from instance.gate import synthesize_once
from instance.paths import BIN, SELFTEST_PROMPT, SERVICE_USER


class SelftestError(RuntimeError):
    """The image cannot serve; the message says where it stopped."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_service_user(command: list[str]) -> list[str]:
    """Drop to the service user (as its unit does) when run as root and the user exists."""
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return command
    return ["setpriv", f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}", "--init-groups", "--", *command]


def _check_device(device: str) -> None:
    if device.startswith("cuda"):
        probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
        if subprocess.run([str(BIN / "python"), "-c", probe], check=False).returncode != 0:
            raise SelftestError(f"{device}: torch sees no CUDA device on this instance")


def selftest(device: str, *, ready_timeout_s: float = 600) -> float:
    """Returns the seconds of audio the service synthesized."""
    from service.models_sync.tiny import build_tiny

    _check_device(device)
    with tempfile.TemporaryDirectory(prefix="voicefleet-selftest-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        model, home = root / "model", root / "home"
        build_tiny(model, seed=0)
        # The service user reads it, as it reads pulled weights (0644); safetensors writes its file 0600.
        for path in model.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        home.mkdir()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                pass
            else:
                os.chown(home, user.pw_uid, user.pw_gid)
        port = _free_port()
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / "cache"),
            "NUMBA_CACHE_DIR": str(home / "numba"),
            "TTS_ENGINE": "cosyvoice3",
            "TTS_MODEL_DIR": str(model),
            "TTS_DEVICE": device,
            "TTS_FP16": "false",
            "TTS_ENVIRONMENT": "test",
            "TTS_SPOT_WATCH": "false",
            "TTS_VOICES_DIR": str(home / "voices"),
        }
        command = _as_service_user([str(BIN / "tts-serve"), "--host", "127.0.0.1", "--port", str(port)])
        log = (root / "service.log").open("w")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
                deadline = time.monotonic() + ready_timeout_s
                while True:
                    if process.poll() is not None:
                        raise SelftestError(f"tts-serve exited {process.returncode}: {_tail(root / 'service.log')}")
                    try:
                        ready = http.get("/readyz", timeout=5)
                    except httpx.HTTPError:
                        pass
                    else:
                        if ready.status_code == 200:
                            break
                        body = ready.json()
                        if body.get("status") == "failed" or body.get("error"):
                            raise SelftestError(f"the model did not load: {body.get('error') or body}")
                    if time.monotonic() > deadline:
                        raise SelftestError(f"not ready in {ready_timeout_s:.0f} s: {_tail(root / 'service.log')}")
                    time.sleep(1)
                return synthesize_once(http, Path(str(SELFTEST_PROMPT)), None, 300)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def _tail(path: Path, lines: int = 8) -> str:
    return " | ".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])

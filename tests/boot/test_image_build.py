"""The runtime image's component steps, run for real in the sandbox: the locked runtime, upstream CosyVoice at the
pinned commit, voicefleet without its dependencies, the service user; then the image's own test phase."""

from __future__ import annotations

import hashlib
import json
import time

from runtime.install import LOCK, NUMPY_PIN
from tests.awstoe import run_phase
from tests.boot.conftest import Image, Timings, network_env


def test_the_image_holds_the_locked_runtime(image: Image) -> None:
    facts = json.loads(image.sandbox.host_path(image.layer, "/opt/voicefleet/image.json").read_text())
    assert facts["lock_sha256"] == hashlib.sha256(LOCK.read_bytes()).hexdigest()
    assert facts["venv"] == "/opt/voicefleet/venv"
    # The build steps ran as written (bootstrap from its hash-pinned lock, then runtime/image_build.py).
    assert not image.sandbox.host_path(image.layer, "/opt/voicefleet/bootstrap").exists()  # removed by validate
    passwd = image.sandbox.host_path(image.layer, "/etc/passwd").read_text()
    assert any(line.startswith("voicefleet:") and line.endswith(":/usr/sbin/nologin") for line in passwd.splitlines())


def test_fault3_numpy_stays_upstreams_pin_after_voicefleet_is_installed(image: Image) -> None:
    """Regression (issue 13, fault 3): installing voicefleet upgraded numpy 1.26.4 -> 2.x and onnxruntime 1.18 then
    failed to import. The image installs the project --no-deps and its validate phase imports the runtime."""
    validate = next(text for script, text in image.output if "image_build.py validate" in script)
    assert f'"numpy": "{NUMPY_PIN}"' in validate, validate
    assert '"onnxruntime": "1.18.0"' in validate, validate
    site = image.sandbox.voicefleet / "venv" / "lib" / "python3.11" / "site-packages"
    assert sorted(p.name for p in site.glob("numpy-*.dist-info")) == [f"numpy-{NUMPY_PIN}.dist-info"]
    assert (site / "cosyvoice_upstream.pth").read_text().startswith("/opt/voicefleet/src/CosyVoice\n")


def test_the_images_test_phase_serves_a_cloned_sentence(image: Image, timings: Timings) -> None:
    """Image Builder's test phase on an instance of the new image: no GPU here, so `--device cuda:0` becomes
    `--device cpu` (the only edit); the rest (tiny upstream model, service as its user, one synthesis) is as written."""
    layer = image.sandbox.layer("image-test", on=(image.layer,))
    outputs: list[str] = []

    def execute(argv: list[str]) -> object:
        done = image.sandbox.run(layer, argv, network_env(), timeout=900)
        outputs.append(done.stdout + done.stderr)
        return done

    started = time.monotonic()
    run_phase(
        image.document,
        "test",
        execute=execute,  # type: ignore[arg-type]
        s3_download=lambda url, dest: None,
        rewrite=lambda command: command.replace("--device cuda:0", "--device cpu"),
    )
    timings.record("image test phase (selftest on CPU)", started)
    assert "selftest: ok" in outputs[-1], outputs[-1]

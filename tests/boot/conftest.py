"""The boot rehearsal: the image build's steps and the real user data of every environment, run in a sandbox on
this machine (tests/boot/sandbox.py), ending with the service started from its unit's own command line answering
/readyz 200 and a synthesized request. Runs in .venv-upstream (make upstream-env), which `make test` runs it with
(pytest --confcutdir=tests/boot, so the main suite's conftest is not loaded here).

AWS is moto on loopback (S3, Secrets Manager, Auto Scaling with its lifecycle hooks, CloudWatch), reached through
the same boto3 calls the instance makes, with the endpoint boto3's own AWS_ENDPOINT_URL names; the instance metadata
service is a local fake (instance id, lifecycle state, and the role credentials boto3 fetches from it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from benchmarks.drills.imds import FakeImds
from tests import moto_lifecycle
from tests.boot.sandbox import HERE, Sandbox, requirements

ROOT = HERE.parents[1]
TINY_CACHE = ROOT / ".voicefleet" / "tiny-cosyvoice3"
# The machine's own TLS trust and proxy settings reach the sandboxed build (its downloads come from PyPI).
NETWORK = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT", "HTTP_PROXY",
           "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")


# CI sets it (.ci/run): there the rehearsal must run, so a host that cannot run it fails with the reason.
REQUIRED = "VF_REQUIRE_REHEARSAL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    why = requirements()
    for item in items:
        # Builds and boots take minutes on a 2-core machine (torch and upstream's imports dominate).
        item.add_marker(pytest.mark.timeout(1500))
        if why and os.environ.get(REQUIRED) != "1":
            item.add_marker(pytest.mark.skip(reason=f"boot rehearsal not run: {why}"))


@pytest.fixture(scope="session", autouse=True)
def _rehearsal_possible() -> None:
    why = requirements()
    if why:  # only reached with VF_REQUIRE_REHEARSAL=1 (otherwise skipped above, with the reason)
        pytest.fail(f"the boot rehearsal cannot run on this host and {REQUIRED}=1: {why}", pytrace=False)


@dataclass
class Timings:
    steps: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, started: float) -> None:
        self.steps[name] = round(time.monotonic() - started, 1)


TIMINGS = Timings()


@pytest.fixture(scope="session")
def timings() -> Timings:
    return TIMINGS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Each step's wall time, printed at the end of every run (docs/infra.md's boot-time budget cites them)."""
    if TIMINGS.steps:
        terminalreporter.section("boot rehearsal timings")
        for name, seconds in TIMINGS.steps.items():
            terminalreporter.write_line(f"{name}: {seconds:.1f} s")


@pytest.fixture(scope="session")
def moto() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_lifecycle.install()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def aws(endpoint: str, service: str) -> Any:
    factory: Any = boto3.client
    return factory(
        service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # fmt: skip


@pytest.fixture(scope="session")
def imds() -> Iterator[FakeImds]:
    server = FakeImds()
    server.role_credentials()
    server.meta["instance-life-cycle"] = "spot"
    yield server
    server.close()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    try:
        yield box
    finally:
        if os.environ.get("VF_REHEARSAL_KEEP"):  # debugging: leave the sandbox (processes stopped) and say where
            box.stop_everything()
            print(f"\nsandbox kept: {box.root}")
        else:
            box.remove()


def network_env() -> dict[str, str]:
    """A root shell's plain environment (cloud-init runs user data with little more), plus the machine's network
    settings."""
    base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    return {**base, **{k: v for k, v in os.environ.items() if k in NETWORK}}


def _tiny_digest() -> str:
    from service.models_sync import tiny

    digest = hashlib.sha256(Path(tiny.__file__).read_bytes())
    digest.update((tiny.upstream_root() / tiny.UPSTREAM_YAML).read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The seed-0 tiny random CosyVoice3 checkpoint (the same cache as tests/upstream)."""
    from service.models_sync.tiny import build_tiny

    target = TINY_CACHE / f"seed0-{_tiny_digest()}"
    if not (target / "llm.pt").is_file():
        build_tiny(target, seed=0)
    return target


def copy_tree(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


@dataclass
class Image:
    sandbox: Sandbox
    layer: str
    document: dict[str, Any]
    output: list[tuple[str, str]]  # (script, stdout + stderr) of every ExecuteBash step, in order
    source_zip: Path


CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"


def s3_fetch(sandbox: Sandbox, layer: str, s3: Any) -> Any:
    """AWSTOE's S3Download, through boto3 (moto), into the layer's view of `destination`."""

    def download(url: str, destination: str) -> None:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        target = sandbox.host_path(layer, destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))

    return download


@pytest.fixture(scope="session")
def image(sandbox: Sandbox, moto: str, timings: Timings) -> Image:
    """The runtime image: the component document's build and validate phases, run in the sandbox's "image" layer."""
    import sys

    from infra.assets import stage_service_source
    from infra.image.components import runtime_document
    from runtime.upstream_source import install_source
    from tests.awstoe import problems, run_phase

    s3 = aws(moto, "s3")
    s3.create_bucket(Bucket="cdk-assets")
    # The CDK CLI zips a directory asset before it uploads it; so does this.
    bundle = Path(shutil.make_archive(str(sandbox.root / "source"), "zip", stage_service_source()))
    key = f"{hashlib.sha256(bundle.read_bytes()).hexdigest()}.zip"
    s3.upload_file(str(bundle), "cdk-assets", key)
    document = runtime_document(f"s3://cdk-assets/{key}")
    assert problems(document) == []
    # GitHub cannot be reached from here: the vendored tarball of the same two commits stands in (the build checks
    # the tree's content digest either way, runtime/upstream.toml tree_sha256).
    upstream = install_source(sandbox.root / "upstream-from-github")
    layer = sandbox.layer("image")
    # AWS's managed amazon-cloudwatch-agent-linux component installs the agent; it cannot run here, so its control
    # script is the rehearsal's stand-in (tests/boot/cwagent_shim.py: the agent's own schema check).
    ctl = sandbox.host_path(layer, CTL)
    ctl.parent.mkdir(parents=True)
    ctl.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "cwagent_shim.py"} "$@"\n')
    ctl.chmod(0o755)
    env = {**network_env(), "COSYVOICE_SRC": str(upstream)}
    output: list[tuple[str, str]] = []

    def execute(argv: list[str]) -> Any:
        done = sandbox.run(layer, argv, env, timeout=1200)
        output.append((argv[-1], done.stdout + done.stderr))
        return done

    for phase in ("build", "validate"):
        started = time.monotonic()
        run_phase(document, phase, execute=execute, s3_download=s3_fetch(sandbox, layer, s3))
        timings.record(f"image {phase} phase", started)
    return Image(sandbox, layer, document, output, bundle)

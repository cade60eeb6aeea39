"""Shared fixtures: fake AWS credentials everywhere, and one moto server on loopback that boto3 talks HTTP to."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

# The upstream suite and the boot rehearsal run in .venv-upstream (torch 2.3.1, upstream CosyVoice, the instance
# runtime): `make test` runs each separately with its own --confcutdir, so this conftest (AWS and CDK fixtures) never
# loads there.
collect_ignore = ["upstream", "boot"]

if TYPE_CHECKING:
    from tests.synth import Synth

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so no test can reach a real AWS account by accident."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real moto server on 127.0.0.1 (random port) for the whole session; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: str) -> str:
    """The moto server's URL, with all its state reset before the test (tests never see each other's resources)."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    return moto_server


@pytest.fixture
def aws_client(moto_endpoint: str) -> Callable[..., Any]:
    """Factory for boto3 clients pointed at the moto server: `aws_client("autoscaling")`."""

    def make(service: str, region: str = "us-east-1") -> Any:
        factory: Any = boto3.client  # the service name is dynamic here; boto3-stubs overloads need a literal
        return factory(service, region_name=region, endpoint_url=moto_endpoint)

    return make


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Every cdk.json environment (plus an edge-case variant) synthesized once per session, cdk-nag on."""
    from tests.synth import synthesize  # aws_cdk only for the tests that ask for templates

    outdir: Path = tmp_path_factory.mktemp("cdk-out")
    return synthesize(outdir)

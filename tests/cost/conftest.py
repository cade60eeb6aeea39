"""cost tests never reach the real Spot Instance Advisor URL nor write to the user's price cache; a loopback server
serves sample advisor files to the tests that need one."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (a port just released by the OS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/spot-advisor-data.json"


@pytest.fixture(autouse=True)
def offline_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEFLEET_SPOT_ADVISOR_URL", closed_port_url())
    monkeypatch.setenv("VOICEFLEET_CACHE_DIR", str(tmp_path / "price-cache"))


# The shape of spot-advisor-data.json (labels as the real file writes them, "> 20%" with a space); figures invented.
SAMPLE: dict[str, Any] = {
    "global_rate": "<10%",
    "instance_types": {"g4dn.xlarge": {"emr": True, "cores": 4, "ram_gb": 16.0}},
    "ranges": [
        {"index": 0, "label": "<5%", "dots": 0, "max": 5},
        {"index": 1, "label": "5-10%", "dots": 1, "max": 11},
        {"index": 2, "label": "10-15%", "dots": 2, "max": 16},
        {"index": 3, "label": "15-20%", "dots": 3, "max": 22},
        {"index": 4, "label": "> 20%", "dots": 4, "max": 100},
    ],
    "spot_advisor": {
        "us-east-1": {
            "Linux": {"g4dn.xlarge": {"s": 57, "r": 0}, "g5.xlarge": {"s": 52, "r": 4}},
            "Windows": {"g4dn.xlarge": {"s": 40, "r": 2}},
        },
        "eu-west-1": {"Linux": {"g4dn.xlarge": {"s": 60, "r": 1}}},
    },
}


@dataclass
class Advisor:
    url: str
    body: bytes = b""
    status: int = 200
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def advisor(monkeypatch: pytest.MonkeyPatch) -> Iterator[Advisor]:
    """A ThreadingHTTPServer on a random loopback port; VOICEFLEET_SPOT_ADVISOR_URL points at it."""
    state = Advisor(url="", body=json.dumps(SAMPLE).encode())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/spot-advisor-data.json"
    monkeypatch.setenv("VOICEFLEET_SPOT_ADVISOR_URL", state.url)
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The advisor needs no credentials; without them the EC2 prices come from the snapshot (one warning)."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

"""A multipart upload is counted as it streams: past the cap it is 413 at once, and nothing past the cap reaches disk.

Driven over a raw socket, because the point is what happens *while* a 50 MB chunked body is still being sent.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import LiveServer, live_server, make_settings

CAP = 1024 * 1024  # TTS_MAX_UPLOAD_BYTES for this server: 1 MiB
CHUNK = 64 * 1024
TOTAL = 50 * 1024 * 1024


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the form parser spools uploads (tempfile's directory, for this in-process server)."""
    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def small_cap_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(engine="espeak", voices_dir=tmp_path / "voices", max_upload_bytes=CAP)
    with live_server(settings) as live:
        yield live


def _largest(directory: Path, stop: threading.Event, seen: list[int]) -> None:
    while not stop.is_set():
        seen.append(sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()))
        time.sleep(0.005)


@pytest.mark.parametrize("path", ["/v1/tts", "/v1/voices"])
def test_chunked_50mb_upload_is_413_at_the_cap_and_never_spooled_past_it(
    small_cap_server: LiveServer, spool_dir: Path, path: str
) -> None:
    host, port = small_cap_server.url.removeprefix("http://").split(":")
    boundary = "voicefleetboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="prompt_audio"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
    ).encode()
    stop, sizes = threading.Event(), [0]
    watcher = threading.Thread(target=_largest, args=(spool_dir, stop, sizes), daemon=True)
    watcher.start()
    sent = 0
    response = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request + f"{len(head):x}\r\n".encode() + head + b"\r\n")
        sock.settimeout(0.001)
        try:
            while sent < TOTAL:
                sock.sendall(f"{CHUNK:x}\r\n".encode() + b"\0" * CHUNK + b"\r\n")
                sent += CHUNK
                try:
                    response += sock.recv(65536)
                except (TimeoutError, BlockingIOError):
                    continue
                if response:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        sock.settimeout(10)
        while b"\r\n\r\n" not in response:
            part = sock.recv(65536)
            if not part:
                break
            response += part
    stop.set()
    watcher.join()
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"TTS_MAX_UPLOAD_BYTES" in response or b"prompt_audio" in response
    assert (b'"param":"prompt_audio"' if path == "/v1/tts" else b'"param":"audio"') in response.replace(b" ", b"")
    assert sent < 8 * CAP, f"sent {sent} bytes before the 413"  # at the cap (plus socket buffers), not at 50 MB
    assert max(sizes) <= CAP + 64 * 1024  # never more than the cap on disk
    assert sum(p.stat().st_size for p in spool_dir.rglob("*") if p.is_file()) == 0  # and nothing left behind

"""The floor under `tts-bench overhead`: the least an HTTP service in Python adds on this machine for the same answer.

A bare ASGI app (no FastAPI, no middleware, no authentication, validation, admission, metrics or logging) served by
the same uvicorn as `tts-serve` (same event loop and HTTP parser: uvloop and httptools when installed), doing exactly
what the overhead benchmark's in-process side does — the text prepared as the service prepares it, the engine call,
the service's loudness and WAV encoding — in one worker thread, as the service's engine thread does. What it adds
over in-process is the cost of HTTP itself here (the client, the loopback transfer, uvicorn, the hand-off to a worker
thread and back); what the real service adds above it is the cost of its framework and guards.

It is a measuring stick for the benchmark, never a way to serve: it accepts any request body without a key.
`python -m benchmarks.floor --port N --engine espeak` (the other options as `tts-bench`'s)."""

from __future__ import annotations

import argparse
import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import uvicorn

from benchmarks.engines import build_engine
from benchmarks.overhead import service_answer, service_request
from service.engines.base import Engine
from service.lifecycle import builtin_voice_names

SPEECH_PATH = "/v1/audio/speech"

Scope = dict[str, Any]


class FloorApp:
    """POST /v1/audio/speech {"input", "voice"} -> WAV; GET /readyz -> 200; anything else 404."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.voices = set(builtin_voice_names(engine))
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floor-engine")

    def answer(self, text: str, voice: str | None) -> bytes:
        """What the in-process side does for one request (benchmarks.overhead.InProcess.answer), in the same code."""
        request = service_request(self.engine, text, voice if voice in self.voices else None)
        return service_answer(self.engine.synthesize_batch([request])[0]).data

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            self.worker.shutdown(wait=True)
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "GET" and scope["path"] == "/readyz":
            await _reply(send, 200, b"ready", b"text/plain")
        elif scope["method"] == "POST" and scope["path"] == SPEECH_PATH:
            payload = json.loads(body)
            loop = asyncio.get_running_loop()
            data = await loop.run_in_executor(self.worker, self.answer, payload["input"], payload.get("voice"))
            await _reply(send, 200, data, b"audio/wav")
        else:
            await _reply(send, 404, b"not found", b"text/plain")


async def _reply(send: Any, status: int, data: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--engine", default="espeak")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true")
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    engine = build_engine(args.engine, preset=args.preset, device=args.device, fp16=args.fp16, model_dir=args.model_dir)
    # uvicorn's defaults, as tts-serve's server (service.server): loop and HTTP parser "auto", one worker.
    uvicorn.run(FloorApp(engine), host="127.0.0.1", port=args.port, log_level="warning", log_config=None)


if __name__ == "__main__":
    main()

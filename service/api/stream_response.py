"""The HTTP response of an admitted stream: its sending is bounded by the stream's deadline, like its generation.

A client that keeps the connection open but stops reading fills the socket buffers, and the server then waits in
ASGI `send` with the engine slot held (a stream makes its next segment only when the last one is sent). The handle's
own deadline check runs only between segments, so each send gets what is left of the stream's deadline: past it the
send is abandoned, the stream counted as `deadline`, its audio iterator closed (which gives the slot back) and the
error raised, so the server drops the connection without the chunked terminator: a broken body, never a clean one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Mapping

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Message, Send

from service.admission.streams import StreamHandle


class StreamResponse(StreamingResponse):
    """Streams `chunks` (made from `handle`) until they end, the client leaves, or `handle.deadline` passes."""

    def __init__(
        self,
        chunks: AsyncGenerator[bytes, None],
        handle: StreamHandle,
        *,
        media_type: str,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(chunks, media_type=media_type, headers=headers)
        self._chunks = chunks
        self._handle = handle

    async def stream_response(self, send: Send) -> None:
        async def send_in_time(message: Message) -> None:
            with anyio.move_on_after(self._handle.deadline - time.monotonic()) as waiting:
                await send(message)
            if waiting.cancelled_caught:
                raise self._handle.expire()

        try:
            await super().stream_response(send_in_time)
        finally:
            # Explicitly, not whenever the garbage collector finalizes the generator: closing it closes the handle,
            # which stops the engine generator and frees the slot. Shielded, so a client that left (Starlette cancels
            # the send on http.disconnect) cannot interrupt that cleanup halfway.
            with anyio.CancelScope(shield=True):
                await self._chunks.aclose()

"""Per-request state for upstream CosyVoice's model object, without changing a line of upstream's code.

Upstream's `CosyVoice2Model.tts` (cosyvoice/cli/model.py, the commit instances install) keeps some per-request state
on the shared model object and runs its LLM on a thread whose failures reach nobody:
- `token_hop_len` grows with every streamed chunk and is never reset (open PR #1849), so from the third stream on
  the first chunk waits for ~100 tokens (~4 s of audio); under concurrency streams would also share it;
- `fp16` is one flag for every request, so a per-request fp32 retry would flip it for everyone;
- `llm_job` runs on a `threading.Thread`: an exception there is printed by `threading.excepthook` and lost; the
  streaming loop (`while True`) then never ends, and a whole request returns truncated audio;
- a consumer that stops early (client gone) leaves the LLM thread decoding to its maximum length and the request's
  entries in the model's per-uuid dicts forever.

`scope_model(model)` swaps the instance's class for a subclass whose `token_hop_len` and `fp16` read the *request's*
context (installed around every step of the request's generator, on whichever thread runs it), and whose `llm_job`
(looked up by `tts` on the request's thread when it starts the LLM thread) carries that context to the LLM thread,
records its exception there and ends the streaming loop. `RequestScope.close()` drops the request's dict entries,
which also makes the LLM thread stop at its next token.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

_current = threading.local()

# Upstream's per-uuid dicts on CosyVoice2Model/CosyVoice3Model (cli/model.py `tts`): cleaned when a request ends early.
_PER_UUID_DICTS = ("tts_speech_token_dict", "llm_end_dict", "hift_cache_dict", "mel_overlap_dict", "flow_cache_dict")


@dataclass
class RequestScope:
    """What one request's generator sees of the shared model."""

    fp16: bool
    token_hop_len: int
    uuid: str | None = None
    error: BaseException | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    model: Any = None

    def run(self, generator: Generator[Any, None, None]) -> Iterator[Any]:
        """Step `generator` with this scope installed on the stepping thread (whichever it is), one step at a time."""
        try:
            while True:
                previous = getattr(_current, "scope", None)
                _current.scope = self
                try:
                    item = next(generator)
                except StopIteration:
                    return
                finally:
                    _current.scope = previous
                yield item
        finally:
            generator.close()  # runs upstream's cleanup (or GeneratorExit) with no scope leaking to this thread

    def close(self) -> None:
        """End the request: stop its LLM thread at the next token and drop what upstream keeps under its uuid."""
        self.cancelled.set()
        if self.uuid is None or self.model is None:
            return
        with self.model.lock:
            for name in _PER_UUID_DICTS:
                getattr(self.model, name, {}).pop(self.uuid, None)


def _scope() -> RequestScope | None:
    return getattr(_current, "scope", None)


class _Scoped:
    """Mixed in front of upstream's model class by `scope_model`."""

    _default_fp16: bool
    _default_hop: int
    _llm_stream: Any

    @property
    def fp16(self) -> bool:
        scope = _scope()
        return scope.fp16 if scope is not None else self._default_fp16

    @fp16.setter
    def fp16(self, value: bool) -> None:
        self._default_fp16 = bool(value)

    @property
    def token_hop_len(self) -> int:
        scope = _scope()
        return scope.token_hop_len if scope is not None else self._default_hop

    @token_hop_len.setter
    def token_hop_len(self, value: int) -> None:
        scope = _scope()
        if scope is not None:
            scope.token_hop_len = value
        else:
            self._default_hop = value

    @property
    def llm_context(self) -> Any:
        """A fresh context per LLM thread on the model's one CUDA side stream: upstream shares one
        `torch.cuda.stream(...)` object between threads, and a StreamContext saves the previous stream on itself, so
        two concurrent LLM threads would restore each other's stream. On the CPU, a null context as upstream."""
        stream = self._llm_stream
        if stream is None:
            return contextlib.nullcontext()
        import torch

        return torch.cuda.stream(stream)

    @llm_context.setter
    def llm_context(self, value: Any) -> None:
        self._llm_stream = getattr(value, "stream", None)

    @property
    def llm_job(self) -> Callable[..., None]:
        """Looked up by upstream's `tts` on the request's thread when it creates the LLM thread."""
        job: Callable[..., None] = super().llm_job  # type: ignore[misc]
        scope = _scope()
        model: Any = self

        def run(text: Any, prompt_text: Any, prompt_speech_token: Any, embedding: Any, uuid: str) -> None:
            if scope is not None:
                scope.uuid = uuid
                scope.model = model
            _current.scope = scope
            try:
                job(text, prompt_text, prompt_speech_token, embedding, uuid)
                if scope is not None and scope.cancelled.is_set():
                    with model.lock:  # upstream's last line re-added this after RequestScope.close() dropped it
                        model.llm_end_dict.pop(uuid, None)
            except BaseException as exc:
                if scope is not None and not scope.cancelled.is_set():
                    scope.error = exc
                with model.lock:
                    if uuid in model.tts_speech_token_dict:
                        model.llm_end_dict[uuid] = True  # ends upstream's streaming `while True`
            finally:
                _current.scope = None

        return run


def scope_model(model: Any) -> Any:
    """Give an upstream CosyVoice2Model/CosyVoice3Model instance per-request state (in place); returns it."""
    if isinstance(model, _Scoped):
        return model
    upstream_cls = type(model)
    fp16 = bool(model.__dict__.pop("fp16", False))
    hop = int(model.__dict__.pop("token_hop_len"))
    context = model.__dict__.pop("llm_context", None)
    model.__class__ = type(f"Scoped{upstream_cls.__name__}", (_Scoped, upstream_cls), {})
    model._default_fp16 = fp16
    model._default_hop = hop
    model.llm_context = context
    return model


def new_scope(model: Any, *, fp16: bool | None = None) -> RequestScope:
    """A fresh request scope: the model's configured precision and upstream's initial hop length (25 tokens)."""
    return RequestScope(fp16=model._default_fp16 if fp16 is None else fp16, token_hop_len=model._default_hop)

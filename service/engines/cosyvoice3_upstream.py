"""What the CosyVoice3 adapter needs from upstream beyond its public API: devices, logs, tags, sentence splitting.

Everything here calls upstream's own code (cosyvoice.utils.frontend_utils, its tokenizer) rather than re-implementing
it, so behaviour follows the pinned commit.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from functools import partial
from pathlib import Path
from typing import Any

log = logging.getLogger("voicefleet.engine")

# Inline tags are written in square or angle brackets; which ones exist is the tokenizer's business.
TAG_PATTERN = re.compile(r"\[[^\[\]\s]{1,24}\]|</?[a-z_]{1,24}>")
# Segment sizes upstream's frontend uses (cli/frontend.py text_normalize: token_max_n=80, token_min_n=60, merge_len=20).
_SPLIT = {"token_max_n": 80, "token_min_n": 60, "merge_len": 20, "comma_split": False}


def prepare_environment(device: str) -> None:
    """Before torch initialises CUDA: hide the GPUs from a `cpu` engine (upstream picks `cuda` whenever it sees one,
    whatever the service was told), turn off upstream's tqdm progress bars and its unused wetext download."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    # Upstream's frontend builds a wetext normalizer at start-up, which downloads its grammars from ModelScope on
    # every new machine (and waits out retries where that is unreachable). The adapter never uses upstream's text
    # frontend (text_frontend=False; the service normalizes), so the import is refused and upstream falls back to
    # its "no frontend" branch (cli/frontend.py).
    sys.modules.setdefault("wetext", None)  # type: ignore[arg-type]
    if device == "cpu":
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_initialized():
            from service.engines.base import EngineNotReadyError

            raise EngineNotReadyError("device cpu requested but CUDA was already initialised in this process")
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


class _UpstreamFilter(logging.Filter):
    """Drops upstream's DEBUG/INFO records (they carry the user's text: 'synthesis text ...') and redacts its
    warnings (which quote text too); errors pass unchanged."""

    def __init__(self, root: str) -> None:
        super().__init__()
        self.root = root

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.pathname.startswith(self.root):
            return True
        if record.levelno < logging.WARNING:
            return False
        if record.levelno == logging.WARNING:
            first = str(record.msg).split(" ", 2)[:2]
            record.msg, record.args = f"upstream warning ({' '.join(first)} ...; text redacted)", ()
        return True


def quiet_upstream_logs() -> None:
    """Install the upstream log filter on the root logger (upstream logs through `logging.info`, i.e. the root
    logger) and undo upstream's `logging.basicConfig(level=DEBUG)` (cosyvoice/utils/file_utils.py)."""
    import cosyvoice

    root_dir = str(Path(cosyvoice.__file__).resolve().parent.parent)
    root = logging.getLogger()
    if not any(isinstance(f, _UpstreamFilter) for f in root.filters):
        root.addFilter(_UpstreamFilter(root_dir))
    for handler in root.handlers:
        if not any(isinstance(f, _UpstreamFilter) for f in handler.filters):
            handler.addFilter(_UpstreamFilter(root_dir))
    if root.level < logging.INFO:
        root.setLevel(logging.INFO)
    for noisy in ("urllib3", "modelscope", "matplotlib", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def select_speech_tokenizer_device(frontend: Any, model_dir: Path, index: int) -> None:
    """Upstream creates the speech tokenizer session with a bare "CUDAExecutionProvider" (device 0 whatever the
    service's GPU); recreate it on device `index` with upstream's own session options."""
    import onnxruntime

    option = onnxruntime.SessionOptions()
    option.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    option.intra_op_num_threads = 1
    frontend.speech_tokenizer_session = onnxruntime.InferenceSession(
        str(model_dir / "speech_tokenizer_v3.onnx"),
        sess_options=option,
        providers=[("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"],
    )


def accepted_tags(tokenizer: Any) -> frozenset[str]:
    """The bracketed special tokens of upstream's tokenizer (CosyVoice3Tokenizer: non-verbal tags, emphasis,
    CMU phones with stress, pinyin initials and toned finals) — the only inline tags the model has embeddings for."""
    specials = tokenizer.special_tokens["additional_special_tokens"]
    return frozenset(t for t in specials if TAG_PATTERN.fullmatch(t))


def split_for_model(text: str, frontend: Any) -> list[str]:
    """Upstream's sentence splitting and Chinese cleanup (cli/frontend.py text_normalize), without its number
    spelling and without touching tags: the service normalized numbers already. Punctuation-only segments are dropped,
    as upstream does."""
    from cosyvoice.utils.frontend_utils import (
        contains_chinese,
        is_only_punctuation,
        remove_bracket,
        replace_blank,
        replace_corner_mark,
        split_paragraph,
    )

    text = text.strip()
    if not text or is_only_punctuation(text):
        return []
    tokenize = partial(frontend.tokenizer.encode, allowed_special=frontend.allowed_special)
    if contains_chinese(text):
        text = text.replace("\n", "")
        text = replace_blank(text)
        text = replace_corner_mark(text)
        text = text.replace(".", "。").replace(" - ", "，")
        text = remove_bracket(text)
        text = re.sub(r"[，,、]+$", "。", text)
        parts = split_paragraph(text, tokenize, "zh", **_SPLIT)
    else:
        parts = split_paragraph(text, tokenize, "en", **_SPLIT)
    return [part for part in parts if not is_only_punctuation(part)]


def serialize_tokenizer(tokenizer: Any) -> None:
    """Concurrent requests share upstream's tokenizer, a Hugging Face fast tokenizer, whose __call__ reconfigures the
    Rust tokenizer's padding/truncation state on every call ("Already borrowed" under threads): calls take turns."""
    lock = threading.Lock()
    encode = tokenizer.encode

    def locked_encode(text: str, **kwargs: Any) -> Any:
        with lock:
            return encode(text, **kwargs)

    tokenizer.encode = locked_encode


def register_vllm_model() -> None:
    """Register upstream's CosyVoice2/3 LLM with vLLM, as upstream's vllm_example.py does, before AutoModel loads.
    vLLM is not in the instance runtime lock: upstream's README pins it beside a different torch (vllm 0.9.0 with
    torch 2.7, or 0.11 with transformers 4.57), so it needs an image built for it."""
    try:
        from vllm import ModelRegistry
    except ImportError as exc:
        from service.engines.base import EngineNotReadyError

        raise EngineNotReadyError(
            "TTS_LOAD_VLLM needs vLLM, which the instance runtime does not carry (upstream pins it beside another "
            "torch release); use an image built with it, or set TTS_LOAD_VLLM=false"
        ) from exc
    from cosyvoice.vllm.cosyvoice2 import CosyVoice2ForCausalLM

    ModelRegistry.register_model("CosyVoice2ForCausalLM", CosyVoice2ForCausalLM)


def require_tensorrt() -> None:
    """TensorRT comes from NVIDIA's index (tensorrt-cu12 at upstream's 10.13.3.9), only on images that enable it."""
    try:
        import tensorrt  # noqa: F401
    except ImportError as exc:
        from service.engines.base import EngineNotReadyError

        raise EngineNotReadyError(
            "TTS_LOAD_TRT needs TensorRT (tensorrt-cu12==10.13.3.9 from pypi.nvidia.com, see runtime/README.md); "
            "set TTS_LOAD_TRT=false or build the image with it"
        ) from exc

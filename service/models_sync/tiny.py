"""`voicefleet-models tiny --to DIR [--seed N]`: a tiny *random* CosyVoice3 checkpoint built from upstream's own code.

Upstream's unchanged `AutoModel(model_dir=DIR)` loads it, so tests, benchmarks and the boot rehearsal run upstream's
real frontend, LLM, flow and vocoder code paths without the 0.5B weights (which cannot be fetched here). Speed and
sound are meaningless; behaviour is real. What is built, from the importable `cosyvoice` package (the pinned commit):

- `cosyvoice3.yaml`: upstream's `examples/libritts/cosyvoice3/conf/cosyvoice3.yaml` with the widths and depths
  shrunk (`SHRINK` below; every edit must match upstream's text exactly once, so an upstream change fails loudly),
  its seeds set to `--seed`, and the training-only `hifigan` block (GAN discriminators) dropped.
- `CosyVoice-BlankEN/`: a small Qwen2 config and weights, and a byte-level BPE tokenizer (256 byte tokens, merges
  that make each CJK character one token, unreachable fillers up to Qwen2's vocabulary size) whose base special
  tokens sit at Qwen2's ids (`<|endoftext|>` 151643 ... `<|im_end|>` 151645), so the special tokens upstream's
  CosyVoice3Tokenizer adds itself land where upstream's LLM expects them (`<|endofprompt|>` is 151646, asserted in
  `cosyvoice/llm/llm.py`).
- `llm.pt`, `flow.pt`, `hift.pt`: state dicts of the real classes the yaml builds (fp16 on disk, loaded as fp32);
  the LLM's decoder is arranged so that it never stops early (`_never_stop_early`): every request yields upstream's
  maximum of 20 speech tokens per text token, 40 ms of audio each.
- `campplus.onnx` and `speech_tokenizer_v3.onnx`: small ONNX graphs with the signatures upstream's frontend calls:
  fbank `[1, T, 80]` float32 -> embedding `[1, 192]`; whisper log-mel `[1, 128, T]` float32 plus its length `[1]`
  int32 -> speech tokens `[1, T/4]` int32 in [0, 6561) (25 tokens per second).
- `spk2info.pt` is absent, as in a fresh release: no built-in speakers.

Deterministic for a seed. Needs the upstream environment (`make upstream-env`): torch, transformers, tokenizers,
onnx and upstream's `cosyvoice` package.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

TINY_HIDDEN = 16  # Qwen2 hidden size = CosyVoice3 llm_input_size/llm_output_size (896 in the release)
QWEN_VOCAB = 151936  # Qwen2's embedding rows; the tokenizer's ids must fit (upstream asserts id 151646)
QWEN_SPECIALS = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
END_OF_PROMPT_ID = 151646
SPEECH_TOKENS = 6561  # FSQ codebook size of speech_tokenizer_v3 (cosyvoice3.yaml: speech_token_size / vocab_size)
SPK_DIM = 192  # CAM++ embedding size (cosyvoice3.yaml: spk_embed_dim)
SHARPEN = 1000.0  # logits ~N(0, 600): sampling is argmax in effect, a stop token (logit 0) is never reached
UPSTREAM_YAML = "examples/libritts/cosyvoice3/conf/cosyvoice3.yaml"

# (upstream text, replacement, expected number of occurrences). Dimensions tied to audio (80 mels, 24 kHz,
# 25 Hz tokens, token_mel_ratio 2, the vocoder's upsample rates) are kept: they fix the output's length.
SHRINK: tuple[tuple[str, str, int], ...] = (
    ("llm_input_size: 896", f"llm_input_size: {TINY_HIDDEN}", 1),
    ("llm_output_size: 896", f"llm_output_size: {TINY_HIDDEN}", 1),
    ("        channels: 1024\n", "        channels: 32\n", 1),  # PreLookaheadLayer
    ("            dim: 1024\n", "            dim: 64\n", 1),  # DiT width
    ("            depth: 22\n", "            depth: 2\n", 1),
    ("            heads: 16\n", "            heads: 2\n", 1),
    ("            dim_head: 64\n", "            dim_head: 32\n", 1),
    ("    base_channels: 512\n", "    base_channels: 16\n", 1),  # HiFT generator
    ("        cond_channels: 512\n", "        cond_channels: 16\n", 1),  # F0 predictor
)


class TinyBuildError(Exception):
    """Upstream's source does not look like the commit this builder was written against."""


def upstream_root() -> Path:
    """The root of the importable upstream checkout (the folder holding `cosyvoice/` and `examples/`)."""
    import cosyvoice

    root = Path(cosyvoice.__file__).resolve().parent.parent
    if not (root / UPSTREAM_YAML).is_file():
        raise TinyBuildError(f"{root} has no {UPSTREAM_YAML}: is `cosyvoice` imported from a full upstream checkout?")
    return root


def tiny_yaml(upstream_text: str, seed: int) -> str:
    """Upstream's cosyvoice3.yaml, shrunk, reseeded, without the training-only GAN block."""
    text = upstream_text
    for old, new, count in SHRINK:
        found = text.count(old)
        if found != count:
            raise TinyBuildError(f"upstream cosyvoice3.yaml has {found} x {old.strip()!r}, expected {count}")
        text = text.replace(old, new)
    text, seeds = re.subn(r"(__set_seed\d: !apply:[\w.]+ )\[1986\]", rf"\g<1>[{seed}]", text)
    if seeds != 4:
        raise TinyBuildError(f"upstream cosyvoice3.yaml has {seeds} seed lines, expected 4")
    # The `hifigan` block (generator + discriminators) only trains the vocoder; nothing at inference reads it.
    text, dropped = re.subn(r"\nhifigan: !new:.*?\n(?=\S)", "\n", text, flags=re.DOTALL)
    if dropped != 1:
        raise TinyBuildError("upstream cosyvoice3.yaml has no single top-level `hifigan:` block to drop")
    return f"# Tiny random CosyVoice3 (voicefleet-models tiny --seed {seed}): upstream's architecture, shrunk.\n{text}"


def _cjk_merges() -> list[tuple[str, str]]:
    """Byte-level merges that make each CJK ideograph (U+4E00-U+9FFF) and CJK/full-width punctuation one token, as
    Qwen2's real vocabulary roughly does: three byte tokens per character would triple every Chinese request's
    speech tokens (upstream decodes up to 20 per text token)."""
    from tokenizers import pre_tokenizers

    byte_char = dict(enumerate(sorted(pre_tokenizers.ByteLevel.alphabet(), key=_byte_order)))
    chars = [*range(0x4E00, 0xA000), *range(0x3000, 0x3040), *range(0xFF00, 0xFF66)]
    pairs: dict[tuple[str, str], None] = {}
    triples: list[tuple[str, str]] = []
    for code in chars:
        b1, b2, b3 = (byte_char[b] for b in chr(code).encode("utf-8"))
        pairs[(b1, b2)] = None
        triples.append((b1 + b2, b3))
    return [*pairs, *triples]


def _byte_order(char: str) -> int:
    """The byte a byte-level alphabet character stands for (GPT-2's bytes_to_unicode)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    code = ord(char)
    if code in printable:
        return code
    others = [b for b in range(256) if b not in printable]
    return others[code - 256]


def _tokenizer(dest: Path) -> None:
    """A byte-level BPE tokenizer in Qwen2's format, with Qwen2's base special tokens at Qwen2's ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    merges = _cjk_merges()
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    # Unreachable fillers (no merge ever produces them) pad the base vocabulary to Qwen2's 151643 entries, so the
    # base specials and the ones upstream adds get Qwen2's ids (the tokenizers library numbers added tokens after
    # the model's vocabulary).
    vocab.update({f"<|unused_{i}|>": i for i in range(len(vocab), min(QWEN_SPECIALS.values()))})
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    spec = json.loads(tokenizer.to_str())
    spec["added_tokens"] = [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True}
        for t, i in QWEN_SPECIALS.items()
    ]  # fmt: skip
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "bos_token": None,
        "model_max_length": 32768,
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "added_tokens_decoder": {
            str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                     "special": True}
            for t, i in QWEN_SPECIALS.items()
        },
    }  # fmt: skip
    (dest / "tokenizer_config.json").write_text(json.dumps(config, indent=1))


def _qwen2(dest: Path, seed: int) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=QWEN_VOCAB,
        hidden_size=TINY_HIDDEN,
        intermediate_size=2 * TINY_HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        torch_dtype="float32",
    )
    model = Qwen2ForCausalLM(config).half()
    model.save_pretrained(dest, safe_serialization=True)


def _reseed(configs: dict[str, Any], seed: int) -> None:
    """Draw the weights again from `seed`, keeping each tensor's scale. Upstream's flow-matching module calls
    set_all_random_seed(0) while the yaml loads (for its fixed noise buffer), so everything built after it would be
    the same for every seed. The Qwen2 body comes from CosyVoice-BlankEN, already drawn from the seed."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    llm = configs["llm"]
    modules = [configs["flow"], configs["hift"], llm.speech_embedding, llm.llm_decoder]
    with torch.no_grad():
        for module in modules:
            for param in module.parameters():
                scale = float(param.float().std()) if param.numel() > 1 else 0.0
                if scale > 0:
                    noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
                    param.copy_(noise * scale + float(param.float().mean()))


def _never_stop_early(llm: Any) -> None:
    """Zero the decoder rows of the LLM's 200 stop tokens (ids >= speech_token_size) and sharpen the rest, so the
    random LLM never samples a stop token, even in upstream's repetition fallback (a softmax over every token), and
    its top-p sampling keeps one candidate: the same input gives the same tokens, hence the same audio (the flow and
    the causal vocoder use fixed noise buffers). Outputs have upstream's maximum length, `max_token_text_ratio` (20)
    speech tokens per text token: deterministic lengths and audio tests can assert exactly. (Upstream's `min_len`
    guard masks only id 6561, so an unsharpened random decoder stops after a handful of tokens.)"""
    import torch

    with torch.no_grad():
        weight = llm.llm_decoder.weight
        weight[: llm.speech_token_size] *= SHARPEN
        weight[llm.speech_token_size :] = 0.0


def _half_state_dict(module: Any) -> dict[str, Any]:
    """fp16 copies of float tensors, keeping tied tensors tied (saved once)."""
    out: dict[str, Any] = {}
    seen: dict[int, Any] = {}
    for key, tensor in module.state_dict().items():
        if tensor.is_floating_point():
            ptr = tensor.data_ptr()
            if ptr not in seen:
                seen[ptr] = tensor.detach().half().clone()
            out[key] = seen[ptr]
        else:
            out[key] = tensor.detach().clone()
    return out


def _onnx_models(dest: Path, seed: int) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)

    def save(graph: Any, name: str) -> None:
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="voicefleet-tiny")
        model.ir_version = 8  # readable by onnxruntime 1.18 (upstream's pin)
        onnx.checker.check_model(model)
        onnx.save(model, str(dest / name))

    # CAM++ speaker embedding: fbank [1, T, 80] -> mean over time -> linear -> [1, 192].
    w_spk = numpy_helper.from_array(rng.standard_normal((80, SPK_DIM)).astype(np.float32) * 0.1, "w")
    save(
        helper.make_graph(
            [
                helper.make_node("ReduceMean", ["input"], ["pooled"], axes=[1], keepdims=0),
                helper.make_node("MatMul", ["pooled", "w"], ["output"]),
            ],
            "campplus_tiny",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, "T", 80])],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, SPK_DIM])],
            [w_spk],
        ),
        "campplus.onnx",
    )
    # Speech tokenizer v3: whisper log-mel [1, 128, T] at 100 frames/s -> 4-frame average -> projection ->
    # an integer code in [0, 6561) per 40 ms, i.e. 25 tokens per second like the real one.
    w_tok = numpy_helper.from_array(rng.standard_normal((1, 128)).astype(np.float32), "w")
    scale = numpy_helper.from_array(np.array(997.0, dtype=np.float32), "scale")
    codes = numpy_helper.from_array(np.array(SPEECH_TOKENS, dtype=np.int64), "codes")
    save(
        helper.make_graph(
            [
                helper.make_node("AveragePool", ["feats"], ["pooled"], kernel_shape=[4], strides=[4]),
                helper.make_node("MatMul", ["w", "pooled"], ["projected"]),  # [1, 1, T/4]
                helper.make_node("Abs", ["projected"], ["magnitude"]),
                helper.make_node("Mul", ["magnitude", "scale"], ["scaled"]),
                helper.make_node("Cast", ["scaled"], ["as_int"], to=TensorProto.INT64),
                helper.make_node("Mod", ["as_int", "codes"], ["code"]),
                helper.make_node("Squeeze", ["code", "axis"], ["code2d"]),
                helper.make_node("Cast", ["code2d"], ["indices"], to=TensorProto.INT32),
            ],
            "speech_tokenizer_v3_tiny",
            [
                helper.make_tensor_value_info("feats", TensorProto.FLOAT, [1, 128, "T"]),
                helper.make_tensor_value_info("feats_length", TensorProto.INT32, [1]),
            ],
            # feats_length is part of the real signature (upstream feeds it); the tiny graph does not need it.
            [helper.make_tensor_value_info("indices", TensorProto.INT32, [1, "N"])],
            [w_tok, scale, codes, numpy_helper.from_array(np.array([1], dtype=np.int64), "axis")],
        ),
        "speech_tokenizer_v3.onnx",
    )


def build_tiny(dest: Path, seed: int = 0) -> Path:
    """Write the tiny checkpoint into `dest` (created; existing files overwritten) and return it."""
    import torch
    from hyperpyyaml import load_hyperpyyaml

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    blank = dest / "CosyVoice-BlankEN"
    _tokenizer(blank)
    _qwen2(blank, seed)
    yaml_text = tiny_yaml((upstream_root() / UPSTREAM_YAML).read_text(encoding="utf-8"), seed)
    (dest / "cosyvoice3.yaml").write_text(yaml_text, encoding="utf-8")
    configs = load_hyperpyyaml(yaml_text, overrides={"qwen_pretrain_path": str(blank)})
    tokenizer = configs["get_tokenizer"]()
    ids = tokenizer.encode("<|endofprompt|>")
    if ids != [END_OF_PROMPT_ID]:
        raise TinyBuildError(f"tiny tokenizer encodes <|endofprompt|> as {ids}, upstream expects [{END_OF_PROMPT_ID}]")
    _reseed(configs, seed)
    _never_stop_early(configs["llm"])
    for name in ("llm", "flow", "hift"):
        torch.save(_half_state_dict(configs[name]), dest / f"{name}.pt")
    _onnx_models(dest, seed)
    return dest

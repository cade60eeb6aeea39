"""`voicefleet-models tiny`: upstream's unchanged AutoModel loads it; deterministic; real ONNX signatures."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import onnxruntime
import pytest

from service.models_sync import tiny


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_upstream_automodel_loads_it_unchanged(tiny_dir: Path) -> None:
    from cosyvoice.cli.cosyvoice import AutoModel, CosyVoice3

    model = AutoModel(model_dir=str(tiny_dir))
    assert isinstance(model, CosyVoice3)
    assert model.sample_rate == 24000
    assert model.frontend.tokenizer.encode("<|endofprompt|>") == [tiny.END_OF_PROMPT_ID]
    assert model.list_available_spks() == []  # no spk2info.pt, like a fresh release
    assert type(model.model.llm).__name__ == "CosyVoice3LM"
    assert type(model.model.flow).__name__ == "CausalMaskedDiffWithDiT"
    assert type(model.model.hift).__name__ == "CausalHiFTGenerator"


def test_same_seed_same_files_other_seed_other_weights(tiny_dir: Path, tmp_path: Path) -> None:
    again = tiny.build_tiny(tmp_path / "again", seed=0)
    assert _digests(again) == _digests(tiny_dir)
    other = _digests(tiny.build_tiny(tmp_path / "other", seed=1))
    same_seed = _digests(again)
    for name in ("llm.pt", "flow.pt", "hift.pt", "campplus.onnx", "CosyVoice-BlankEN/model.safetensors"):
        assert other[name] != same_seed[name], name
    assert other["CosyVoice-BlankEN/tokenizer.json"] == same_seed["CosyVoice-BlankEN/tokenizer.json"]


def test_a_few_megabytes(tiny_dir: Path) -> None:
    size = sum(p.stat().st_size for p in tiny_dir.rglob("*") if p.is_file())
    assert size < 25_000_000  # 16 MB: Qwen2's 151,936-row embedding at width 16 (fp16) dominates


def test_onnx_signatures_are_the_ones_upstream_feeds(tiny_dir: Path) -> None:
    spk = onnxruntime.InferenceSession(str(tiny_dir / "campplus.onnx"), providers=["CPUExecutionProvider"])
    [spk_in] = spk.get_inputs()
    assert (spk_in.type, spk_in.shape[0], spk_in.shape[2]) == ("tensor(float)", 1, 80)
    assert spk.get_outputs()[0].shape == [1, 192]
    tok = onnxruntime.InferenceSession(str(tiny_dir / "speech_tokenizer_v3.onnx"), providers=["CPUExecutionProvider"])
    feats, length = tok.get_inputs()
    assert (feats.type, feats.shape[:2], length.type, length.shape) == ("tensor(float)", [1, 128], "tensor(int32)", [1])
    import numpy as np

    tokens = tok.run(None, {feats.name: np.ones((1, 128, 400), np.float32), length.name: np.array([400], np.int32)})[0]
    assert tokens.shape == (1, 100)  # 4 s of 100 Hz log-mel -> 25 tokens per second
    assert tokens.dtype == np.int32
    assert tokens.min() >= 0
    assert tokens.max() < tiny.SPEECH_TOKENS


def test_yaml_is_upstreams_with_dimensions_shrunk(tiny_dir: Path) -> None:
    upstream = (tiny.upstream_root() / tiny.UPSTREAM_YAML).read_text(encoding="utf-8")
    ours = (tiny_dir / "cosyvoice3.yaml").read_text(encoding="utf-8")
    for kept in ("sample_rate: 24000", "token_frame_rate: 25", "token_mel_ratio: 2", "upsample_rates: [8, 5, 3]",
                 "!new:cosyvoice.llm.llm.CosyVoice3LM", "!new:cosyvoice.flow.DiT.dit.DiT"):  # fmt: skip
        assert kept in upstream
        assert kept in ours
    assert "depth: 2\n" in ours
    assert "depth: 22\n" in upstream
    assert "hifigan:" in upstream
    assert "\nhifigan:" not in ours


def test_builder_fails_loudly_when_upstream_changes() -> None:
    upstream = (tiny.upstream_root() / tiny.UPSTREAM_YAML).read_text(encoding="utf-8")
    with pytest.raises(tiny.TinyBuildError, match="depth: 22"):
        tiny.tiny_yaml(upstream.replace("depth: 22", "depth: 24"), seed=0)


def test_cli_builds_it(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "voicefleet-models"), "tiny", "--to", str(tmp_path / "t"), "--seed", "3"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "tiny CosyVoice3 checkpoint (seed 3)" in out.stderr
    assert (tmp_path / "t" / "cosyvoice3.yaml").read_text().count("[3]") == 4

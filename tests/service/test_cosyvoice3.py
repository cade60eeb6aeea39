"""The CosyVoice3 adapter's checks that need no upstream code. Everything that runs upstream's code is in
tests/upstream (run by `make test` in .venv-upstream, on a tiny random checkpoint); the fake `cosyvoice` package
these tests once used is gone: it read the prompt once where upstream reads it three times, and hid every defect
that suite now proves fixed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.engines.base import EngineNotReadyError
from service.engines.cosyvoice3 import CosyVoice3Engine, instruct_text, prompt_text


def test_prompt_and_instruct_formatting() -> None:
    assert prompt_text("你好") == "You are a helpful assistant.<|endofprompt|>你好"
    assert instruct_text("请用广东话表达。") == "You are a helpful assistant. 请用广东话表达。<|endofprompt|>"
    # Already-formatted instructions are not prefixed twice.
    assert instruct_text("You are a helpful assistant. 慢一点<|endofprompt|>") == instruct_text("慢一点")


def test_missing_model_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(EngineNotReadyError, match=str(missing)):
        CosyVoice3Engine(missing, device="cpu").load()
    with pytest.raises(EngineNotReadyError, match=r"cosyvoice3\.yaml"):
        CosyVoice3Engine(tmp_path, device="cpu").load()


def test_fp16_without_cuda_is_refused_before_any_import(tmp_path: Path) -> None:
    (tmp_path / "cosyvoice3.yaml").write_text("# export\n")
    with pytest.raises(EngineNotReadyError, match="fp16 needs a CUDA device"):
        CosyVoice3Engine(tmp_path, device="cpu", fp16=True).check()


def test_cuda_device_without_cuda_is_refused(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    (tmp_path / "cosyvoice3.yaml").write_text("# export\n")
    with pytest.raises(EngineNotReadyError, match=r"cuda:0 requested but CUDA is not available"):
        CosyVoice3Engine(tmp_path, device="cuda:0").load()


def test_import_does_not_load_torch_or_cosyvoice() -> None:
    code = (
        "import sys, service.engines.cosyvoice3, service.app; print('torch' in sys.modules, 'cosyvoice' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]

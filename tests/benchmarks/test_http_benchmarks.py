"""`tts-bench load`, `soak` and `overhead` against the real service (espeak) over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.cli import app
from benchmarks.common import BenchFailedError
from benchmarks.http_driver import HttpTarget, Outcome, Tally
from benchmarks.probes import pid_listening_on
from benchmarks.soak import growth_pct, run_soak
from tests.service.conftest import LiveServer, live_server, make_settings

runner = CliRunner()


def test_load_sweep_reports_each_level(espeak_server: LiveServer, out: Path) -> None:
    args = ["load", "--url", espeak_server.url, "--concurrency", "1,3", "--requests", "6", "--warmup", "1"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "command:" in result.output
    assert "machine:" in result.output
    data = json.loads(out.read_text())
    assert [level["concurrency"] for level in data["levels"]] == [1, 3]
    for level in data["levels"]:
        assert level["ok"] == 6
        assert level["errors"] == level["lost"] == level["rejected_429"] == level["rejected_503"] == 0
        assert level["audio_s_per_s"] > level["requests_per_s"] > 0  # every sentence is longer than a second
        assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"]
    assert data["machine"]["cpu_cores"] >= 1


def test_soak_samples_the_server_process(espeak_server: LiveServer, tmp_path: Path) -> None:
    port = int(espeak_server.url.rsplit(":", 1)[1])
    assert pid_listening_on(port) == os.getpid()  # uvicorn runs in this test process
    target = HttpTarget(espeak_server.url, model="tts-1", voice="alloy", timeout_s=30)
    result = run_soak(target, 40, 4, pid=None, out=tmp_path / "s.json")
    assert result["ok"] == 40
    assert result["lost"] == result["errors"] == 0
    assert result["server_pid"] == os.getpid()
    assert len(result["rss_samples"]) >= 10
    assert result["rss_growth_pct_first_to_last_tenth"] is not None


def test_soak_fails_loudly_when_requests_are_lost(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port with nothing listening: every request is lost
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(BenchFailedError, match="10 request\\(s\\) LOST"):
        run_soak(HttpTarget(url, model="tts-1", voice="alloy", timeout_s=5), 10, 2, pid=None, out=tmp_path / "s.json")


def test_overhead_pairs_inprocess_and_http(espeak_server: LiveServer, out: Path) -> None:
    args = ["overhead", "--url", espeak_server.url, "--engine", "espeak", "--repeats", "1", "--concurrency", "2"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["pairs"] == 8
    assert data["added"]["p50_ms"] is not None
    assert data["http"]["p50_ms"] > 0
    assert data["inprocess"]["p50_ms"] > 0
    assert data["throughput_ratio_http_over_inprocess"] > 0
    assert "added by HTTP per request" in result.output
    # Each request also went by the lean client (http.client), paired with the same in-process answer.
    assert data["http_lean"]["p50_ms"] > 0
    assert data["added_lean"]["p50_ms"] is not None
    assert "added by HTTP with a lean client" in result.output


def test_overhead_in_process_side_does_the_services_work_and_reports_each_part(
    espeak_server: LiveServer, out: Path
) -> None:
    args = ["overhead", "--url", espeak_server.url, "--repeats", "1", "--concurrency", "1", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["voice"] == "alloy"  # the request's voice, not the engine's default
    assert data["loudness_lufs"] == -20.0
    engine, deliver, answer = (data[k]["p50_ms"] for k in ("inprocess_engine", "inprocess_deliver", "inprocess"))
    assert 0 < deliver < answer
    assert 0 < engine < answer
    assert data["added_over_engine"]["p50_ms"] > data["added"]["p50_ms"]  # the answer costs more than the engine
    assert "over the engine call alone" in result.output


def test_overhead_against_a_past_version_serves_both_and_prints_the_ratios(out: Path) -> None:
    """`--against HEAD`: the committed tree exported and served beside this checkout's service, requests
    interleaved; both sides' figures and the ratios land in the JSON."""
    args = ["overhead", "--against", "HEAD", "--repeats", "1", "--concurrency", "1", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["baseline"]["label"] == "HEAD"
    assert data["baseline"]["url"] != data["url"]
    assert data["pairs"] == data["baseline"]["pairs"] == 8
    assert data["baseline"]["cpu_ms_per_request"]["server"] > 0
    assert data["ratio_to_baseline"]["added_over_engine_p50"] > 0
    assert "this version / HEAD:" in result.output


def test_overhead_floor_serves_the_bare_app_beside_and_reports_how_far_above_it_the_service_is(out: Path) -> None:
    """`--floor`: benchmarks.floor on its own uvicorn beside the local tts-serve, requests interleaved; its figures,
    measured like the service's (both clients, server CPU), and the service's distance above it land in the JSON."""
    args = ["overhead", "--floor", "--repeats", "1", "--concurrency", "1", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    floor = data["floor"]
    assert floor["label"] == "floor"
    assert floor["url"] != data["url"]
    assert floor["pairs"] == data["pairs"] == 8
    assert floor["http"]["p50_ms"] > 0
    assert floor["http_lean"]["p50_ms"] > 0
    assert floor["cpu_ms_per_request"]["server"] > 0  # its own process, found from its port
    for key in ("added", "added_lean"):
        assert data["above_floor_ms"][key] == pytest.approx(data[key]["p50_ms"] - floor[key]["p50_ms"], abs=0.002)
    assert "this version above the floor" in result.output


def test_the_floor_answers_what_the_in_process_side_makes() -> None:
    """The floor does the in-process side's work: for the same text and voice its WAV has the rate and the length
    (espeak's own output varies ~0.2% run to run; another voice is ~2.5% off) of the text prepared, synthesized and
    delivered as the in-process side does; a voice the engine lacks is its default voice there too."""
    import io

    import soundfile as sf

    from benchmarks.floor import FloorApp
    from benchmarks.overhead import LOUDNESS_LUFS, InProcess
    from service.audio.deliver import deliver
    from service.engines.espeak import EspeakEngine

    engine = EspeakEngine()
    engine.load()
    floor = FloorApp(engine)

    def decoded(wav: bytes) -> tuple[int, int]:
        audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
        return rate, len(audio)

    try:
        cases = [
            ("Please confirm your appointment for Tuesday at 3 PM.", "alloy", "alloy"),
            ("你好，欢迎使用语音合成。", "alloy", "alloy"),
            ("One two three, four five six.", "no-such-voice", None),
        ]
        for text, asked, used in cases:
            result = engine.synthesize_batch([InProcess(engine, used).request(text)])[0]
            delivered = deliver(result.audio, result.sample_rate, "wav", loudness_lufs=LOUDNESS_LUFS)
            rate, length = decoded(delivered.data)
            floor_rate, floor_length = decoded(floor.answer(text, asked))
            assert floor_rate == rate
            assert floor_length == pytest.approx(length, rel=0.01), text
    finally:
        floor.worker.shutdown()
        engine.close()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--against", "no-such-ref-anywhere"], "--against no-such-ref-anywhere: not a commit"),
        (["--against", "HEAD", "--url", "http://127.0.0.1:9"], "--against starts both versions here; drop --url"),
    ],
)
def test_overhead_against_refuses_what_it_cannot_compare_in_one_line(args: list[str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from benchmarks.cli import main; main()", "overhead", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(f"tts-bench: error: {says}")


def test_figures_count_unanswered_requests_as_lost() -> None:
    """Two requests never came back (sent 5, 3 outcomes): the figures call them lost, never silently dropped."""
    outcomes = [
        Outcome("served", 200, 0.1, "load-1", audio_s=2.0),
        Outcome("rejected", 429, 0.1, "load-2"),
        Outcome("rejected", 503, 0.1, "load-3"),
    ]
    figures = Tally(sent=5, wall_s=1.0, outcomes=outcomes).figures()
    assert (figures["ok"], figures["rejected_429"], figures["rejected_503"], figures["lost"]) == (1, 1, 1, 2)
    assert figures["audio_s_per_s"] == 2.0


def test_growth_compares_first_and_last_tenth() -> None:
    samples = [(n, 100 if n <= 10 else 110) for n in range(1, 101)]
    assert growth_pct(samples, 100) == pytest.approx(10.0)
    assert growth_pct([], 100) is None


def test_bad_option_is_exit_2_with_one_line() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "tts-bench"), "load", "--concurrency", "1,x"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "--concurrency" in proc.stderr


def test_soak_without_url_starts_and_samples_its_own_server(out: Path) -> None:
    """One command: no --url starts a local tts-serve (espeak) for the run, samples that process, stops it."""
    result = runner.invoke(app, ["soak", "--requests", "20", "--concurrency", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "started tts-serve (pid" in result.output
    data = json.loads(out.read_text())
    assert data["ok"] == 20
    assert data["lost"] == data["errors"] == 0
    assert data["server_pid"] not in (None, os.getpid())
    assert data["rss_first_mib"] > 0
    assert pid_listening_on(int(data["url"].rsplit(":", 1)[1])) is None  # stopped after the run


def test_load_sends_the_api_key_to_a_keyed_service(tmp_path: Path) -> None:
    key = "bench-key-0123456789abcdef"
    settings = make_settings(engine="espeak", voices_dir=tmp_path / "voices", api_keys=[key])
    with live_server(settings) as live:
        base = ["load", "--url", live.url, "--concurrency", "1", "--requests", "2", "--warmup", "0"]
        keyed = runner.invoke(app, [*base, "--api-key", key, "--out", str(tmp_path / "keyed.json")])
        keyless = runner.invoke(app, [*base, "--out", str(tmp_path / "keyless.json")])
    assert keyed.exit_code == keyless.exit_code == 0, keyed.output
    (with_key,) = json.loads((tmp_path / "keyed.json").read_text())["levels"]
    (without,) = json.loads((tmp_path / "keyless.json").read_text())["levels"]
    assert (with_key["ok"], with_key["errors"]) == (2, 0)
    assert (without["ok"], without["errors"]) == (0, 2)
    assert "HTTP 401" in without["first_errors"][0]

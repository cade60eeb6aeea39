"""`tts-serve`: run the synthesis service with uvicorn. Options override TTS_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from service.settings import Settings

cli = typer.Typer(add_completion=False, help="Run the voicefleet synthesis service.")


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def build_settings(overrides: dict[str, Any]) -> Settings:
    """Settings from the environment with the given options on top (None = not given)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)


@cli.command()
def serve(
    engine: Annotated[str | None, typer.Option(help="espeak (default, CPU) or cosyvoice3 (GPU).")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="Local CosyVoice3 model directory (never downloaded).")] = None,
    fp16: Annotated[bool | None, typer.Option("--fp16/--no-fp16", help="Half precision (cosyvoice3 on a GPU).")] = None,
    gpu_id: Annotated[int | None, typer.Option(help="GPU index; the engine runs on cuda:<id>.")] = None,
    device: Annotated[str | None, typer.Option(help="Override the device: 'cpu' or 'cuda:N'.")] = None,
    max_text_len: Annotated[int | None, typer.Option(help="Characters per request (default 200).")] = None,
    voices_dir: Annotated[Path | None, typer.Option(help="Where saved voices live.")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level: debug, info, warning, error.")] = None,
) -> None:
    """Start the service; refuses unsafe settings with one line and exit code 2."""
    try:
        settings = build_settings(
            {
                "engine": engine,
                "model_dir": model_dir,
                "fp16": fp16,
                "gpu_id": gpu_id,
                "device": device,
                "max_text_chars": max_text_len,
                "voices_dir": voices_dir,
                "host": host,
                "port": port,
                "log_level": log_level.upper() if log_level else None,
            }
        )
    except ValidationError as exc:
        typer.echo(f"tts-serve: invalid settings: {_one_line(exc)}", err=True)
        raise typer.Exit(2) from exc
    problem = _check_paths(settings)
    if problem:
        typer.echo(f"tts-serve: {problem}", err=True)
        raise typer.Exit(2)

    from service.app import create_app
    from service.engines.base import EngineError
    from service.engines.registry import build_engine
    from service.logging import configure_logging
    from service.server import build_server

    try:
        synth_engine = build_engine(settings)  # cheap checks only (paths, device vs precision); loads later
    except EngineError as exc:
        typer.echo(f"tts-serve: {exc}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level)
    server = build_server(create_app(settings, engine=synth_engine), host=settings.host, port=settings.port)
    server.run()
    if not server.started:
        raise typer.Exit(3)  # startup failed (logged above); uvicorn's own exit code for it


def _check_paths(settings: Settings) -> str | None:
    """Directories the service needs, checked before serving so the failure is one line, not a traceback."""
    if settings.engine == "cosyvoice3":
        assert settings.model_dir is not None
        if not settings.model_dir.is_dir():
            return f"model dir {settings.model_dir} does not exist (weights are never downloaded)"
    if settings.outputs_bucket:
        try:
            settings.spool_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"spool dir {settings.spool_dir} cannot be created (TTS_SPOOL_DIR): {exc.strerror}"
        if not os.access(settings.spool_dir, os.W_OK):
            return f"spool dir {settings.spool_dir} is not writable (TTS_SPOOL_DIR)"
    return None


def main() -> None:
    cli(prog_name="tts-serve")


if __name__ == "__main__":
    main()

"""`voicefleet-models push|pull`: copy CosyVoice3 weights between a directory and the environment's models bucket.

    voicefleet-models push --env prod --from ./CosyVoice3-0.5B      # bucket from the deployed stack's outputs
    voicefleet-models push --bucket B --prefix cosyvoice3/ --from DIR
    voicefleet-models pull --bucket B --prefix cosyvoice3/ --to /opt/models/cosyvoice3   # what an instance runs at boot
    voicefleet-models voices push --env prod --from ./voice-library   # OpenAI's voice names for cosyvoice3

Exit codes: 0 done, 1 the sync failed (checksum, S3), 2 bad input.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import boto3
import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from service.models_sync.manifest import SyncError, UsageError
from service.models_sync.transfer import SyncReport, pull, push

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MODELS_BUCKET_OUTPUT = "ModelsBucket"  # CfnOutputs of infra/stack.py
OUTPUTS_BUCKET_OUTPUT = "OutputsBucket"  # saved voices live there, under voices/ (TTS_VOICES_BUCKET/PREFIX)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Sync model weights with the models bucket.")
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("voicefleet.models")


def stack_outputs(name: str, region: str | None) -> tuple[dict[str, str], str, str]:
    """(outputs, model prefix, region) of a deployed environment: config from cdk.json, outputs from its stack."""
    from voicefleet_config import ConfigError, load_environment

    try:
        config = load_environment(name)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    region = region or config.region
    cfn = boto3.client("cloudformation", region_name=region)
    try:
        stacks = cfn.describe_stacks(StackName=config.stack_name)["Stacks"]
    except ClientError as exc:
        raise SyncError(f"stack {config.stack_name} not found in {region}; deploy it first or pass --bucket") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", []) if "OutputKey" in o}
    return outputs, config.service.model_prefix, region


def bucket_output(outputs: dict[str, str], output_key: str, env: str) -> str:
    """The bucket a stack output names; SyncError naming the output (and --bucket) when the stack has none."""
    if output_key not in outputs:
        raise SyncError(f"the '{env}' environment's stack has no '{output_key}' output; pass --bucket")
    return outputs[output_key]


def resolve_env(name: str, region: str | None, output_key: str = MODELS_BUCKET_OUTPUT) -> tuple[str, str, str]:
    """(bucket, model prefix, region) of a deployed environment: config from cdk.json, bucket from the stack
    output `output_key` (the models bucket for weights, the outputs bucket for the voice library)."""
    outputs, prefix, region = stack_outputs(name, region)
    return bucket_output(outputs, output_key, name), prefix, region


def _client(region: str | None) -> S3Client:
    client: S3Client = boto3.client("s3", region_name=region)
    return client


class _ProgressSink:
    """A rich progress bar on a terminal; one log line per finished file otherwise (instance boot logs)."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.interactive = err.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=err,
            disable=not self.interactive,
        )
        self.tasks: dict[str, int] = {}
        self.done: dict[str, int] = {}

    def __call__(self, path: str, n: int, size: int) -> None:
        if path not in self.tasks:
            self.tasks[path] = int(self.progress.add_task(path, total=size))
            self.done[path] = 0
        self.done[path] += n
        self.progress.update(self.tasks[path], advance=n)  # type: ignore[arg-type]
        if not self.interactive and self.done[path] >= size:
            err.print(f"{self.verb} {path} ({size} bytes)", highlight=False)


def _finish(verb: str, report: SyncReport) -> None:
    err.print(
        f"{verb} {len(report.transferred)} files ({report.bytes} bytes), skipped {len(report.skipped)} unchanged"
        + (f", resumed {len(report.resumed)}" if report.resumed else ""),
        highlight=False,
    )


def _fail(exc: Exception) -> typer.Exit:
    code = 2 if isinstance(exc, UsageError) else 1
    err.print(f"error: {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command("push")
def push_command(
    source: Annotated[Path, typer.Option("--from", help="Local model directory.")],
    env: Annotated[str | None, typer.Option("--env", help="Environment in cdk.json (bucket from its stack).")] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="Models bucket (instead of --env).")] = None,
    prefix: Annotated[str | None, typer.Option("--prefix", help="Key prefix (default: env model_prefix).")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
) -> None:
    """Upload a model directory: multipart, SHA-256 checksums, unchanged files skipped, manifest last."""
    try:
        if bool(env) == bool(bucket):
            raise UsageError("give exactly one of --env NAME or --bucket BUCKET")
        outputs: dict[str, str] = {}
        if env:
            outputs, env_prefix, region = stack_outputs(env, region)
            bucket = bucket_output(outputs, MODELS_BUCKET_OUTPUT, env)
            prefix = prefix if prefix is not None else env_prefix
        if bucket is None:
            raise UsageError("--bucket is required")
        sink = _ProgressSink("pushed")
        with sink.progress:
            report = push(_client(region), bucket, prefix if prefix is not None else "cosyvoice3/", source, sink)
    except (SyncError, ClientError, BotoCoreError, OSError) as exc:
        raise _fail(exc) from exc
    _finish(f"pushed to s3://{bucket}/{prefix or ''}:", report)
    if env:
        from service.models_sync.bake import start_weights_build

        line = start_weights_build(
            outputs,
            ssm=boto3.client("ssm", region_name=region),
            imagebuilder=boto3.client("imagebuilder", region_name=region),
        )
        err.print(line, highlight=False)


@app.command("pull")
def pull_command(
    bucket: Annotated[str, typer.Option("--bucket", help="Models bucket.")],
    target: Annotated[Path, typer.Option("--to", help="Local directory to fill.")],
    prefix: Annotated[str, typer.Option("--prefix")] = "cosyvoice3/",
    region: Annotated[str | None, typer.Option("--region")] = None,
) -> None:
    """Download and verify a model (resumes partial downloads, skips files already correct)."""
    try:
        sink = _ProgressSink("pulled")
        with sink.progress:
            report = pull(_client(region), bucket, prefix, target, sink)
    except (SyncError, ClientError, BotoCoreError, OSError) as exc:
        raise _fail(exc) from exc
    _finish(f"pulled into {target}:", report)


@app.command("tiny")
def tiny_command(
    target: Annotated[Path, typer.Option("--to", help="Directory to write the checkpoint into.")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (same seed, same files).")] = 0,
) -> None:
    """Build a tiny *random* CosyVoice3 checkpoint from upstream's own code (tests, benchmarks, boot rehearsal).

    Needs the upstream environment (make upstream-env): upstream's `cosyvoice` package, torch, transformers, onnx."""
    try:
        from service.models_sync.tiny import TinyBuildError, build_tiny
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise _fail(
            UsageError(f"the tiny checkpoint needs the upstream environment (make upstream-env): {exc}")
        ) from exc
    try:
        build_tiny(target, seed=seed)
    except ImportError as exc:
        raise _fail(
            UsageError(f"the tiny checkpoint needs the upstream environment (make upstream-env): {exc}")
        ) from exc
    except (TinyBuildError, OSError) as exc:
        raise _fail(SyncError(str(exc))) from exc
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    err.print(f"tiny CosyVoice3 checkpoint (seed {seed}) in {target}: {size / 1e6:.1f} MB", highlight=False)


voices_app = typer.Typer(no_args_is_help=True, help="The voice library: named prompt clips in the voice store.")
app.add_typer(voices_app, name="voices")


@voices_app.command("push")
def voices_push_command(
    source: Annotated[Path, typer.Option("--from", help="Directory of <name>.wav|flac|mp3|ogg (+ <name>.txt).")],
    env: Annotated[str | None, typer.Option("--env", help="Environment in cdk.json (its outputs bucket).")] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="Voices bucket (instead of --env).")] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Voices prefix (TTS_VOICES_PREFIX).")] = "voices/",
    region: Annotated[str | None, typer.Option("--region")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite different voices of the same name.")] = False,
) -> None:
    """Seed shared, admin-owned voices (e.g. OpenAI's names for cosyvoice3); every clip is checked before any upload."""
    from service.models_sync.voices import read_library, seed
    from service.voices.s3 import S3VoiceStore

    try:
        if bool(env) == bool(bucket):
            raise UsageError("give exactly one of --env NAME or --bucket BUCKET")
        if not prefix.endswith("/") or prefix.startswith("/"):
            raise UsageError(f"--prefix '{prefix}' must be relative and end with '/' (e.g. 'voices/')")
        voices = read_library(source)
        if env:
            bucket, _, region = resolve_env(env, region, OUTPUTS_BUCKET_OUTPUT)
        assert bucket is not None
        report = seed(S3VoiceStore(_client(region), bucket, prefix), voices, replace=replace)
    except (SyncError, ClientError, BotoCoreError, OSError) as exc:
        raise _fail(exc) from exc
    err.print(
        f"voices in s3://{bucket}/{prefix}: saved {len(report.saved)}, replaced {len(report.replaced)}, "
        f"unchanged {len(report.skipped)}",
        highlight=False,
    )
    if report.missing_openai:
        err.print(
            f"note: OpenAI voice names not in the library (requests naming them get 422): "
            f"{', '.join(report.missing_openai)}",
            highlight=False,
        )


def main() -> None:
    app(prog_name="voicefleet-models")


if __name__ == "__main__":
    main()

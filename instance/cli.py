"""`voicefleet-instance prepare|gate|watch|abandon --config /etc/voicefleet/boot.json` (on an instance, as root).

Exit codes: 0 done, 1 the step failed (the launch was abandoned with the reason, see the boot log), 2 bad config.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from instance.paths import BOOT_CONFIG

app = typer.Typer(add_completion=False, no_args_is_help=True, help="voicefleet's boot on a GPU instance.")
ConfigOption = Annotated[Path, typer.Option("--config", help="The boot settings the user data wrote.")]


def _setup(path: Path):  # type: ignore[no-untyped-def]
    from instance.aws import Clients
    from instance.config import BootConfigError, load
    from instance.host import Host
    from instance.imds import Imds
    from service.logging import configure_logging

    configure_logging("INFO", sys.stdout)
    try:
        config = load(path)
    except BootConfigError as exc:
        typer.echo(f"voicefleet-instance: {exc}", err=True)
        raise typer.Exit(2) from exc
    return config, Host(), Imds(), Clients.for_region(config.region)


@app.command()
def prepare(config: ConfigOption = Path(str(BOOT_CONFIG))) -> None:
    """Settings, secrets, weights, then start the service (first boot)."""
    from instance.prepare import BootStepError
    from instance.prepare import prepare as run

    settings, host, imds, clients = _setup(config)
    try:
        done = run(settings, host, imds, clients)
    except BootStepError as exc:
        typer.echo(f"voicefleet-instance prepare: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"prepared {done.instance_id} ({done.target_state}); model in {done.model_dir}")


@app.command()
def gate(config: ConfigOption = Path(str(BOOT_CONFIG))) -> None:
    """Complete the launch hook once /readyz is 200 and one synthesis succeeded (every boot)."""
    from instance.gate import GateError
    from instance.gate import gate as run

    settings, host, imds, clients = _setup(config)
    try:
        result = run(settings, host, imds, clients)
    except GateError as exc:
        typer.echo(f"voicefleet-instance gate: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"gate: {result.outcome} ({result.boot_seconds:.0f} s after kernel start)")


@app.command()
def watch(config: ConfigOption = Path(str(BOOT_CONFIG))) -> None:
    """Drain and complete the terminating hook when Auto Scaling terminates the instance."""
    from instance.watch import watch as run

    settings, host, imds, clients = _setup(config)
    run(settings, host, imds, clients)


@app.command()
def abandon(
    reason: Annotated[str, typer.Option("--reason", help="Why the boot cannot go on (logged and reported).")],
    config: ConfigOption = Path(str(BOOT_CONFIG)),
) -> None:
    """End the launch with ABANDON (the user data's error trap)."""
    from instance.abandon import abandon as run
    from instance.imds import ImdsError

    settings, _host, imds, clients = _setup(config)
    try:
        instance_id = imds.get("instance-id")
    except ImdsError:
        instance_id = None
    run(settings, clients, instance_id=instance_id, reason=reason)


@app.command()
def selftest(
    device: Annotated[str, typer.Option("--device", help="Where the service runs: cuda:N, or cpu.")] = "cuda:0",
) -> None:
    """The image's test: the service on a tiny random model as the service user, /readyz and one synthesis."""
    from instance.selftest import SelftestError
    from instance.selftest import selftest as run
    from service.logging import configure_logging

    configure_logging("INFO", sys.stdout)
    try:
        seconds = run(device)
    except SelftestError as exc:
        typer.echo(f"voicefleet-instance selftest: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"selftest: ok ({seconds:.2f} s of audio on {device})")


def main() -> None:
    app(prog_name="voicefleet-instance")


if __name__ == "__main__":
    main()

"""`voicefleet preflight --env NAME`: pass/fail for each deploy-day prerequisite, with its fix.

    voicefleet preflight --env prod              # before `cdk deploy`, again after pushing the weights

Exit codes: 0 nothing failed (checks that must wait for a later step say so), 1 a check failed, 2 bad input or AWS
refused to answer (throttling, access denied, no credentials): one readable line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from infra.preflight.result import Check, PreflightAwsError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="voicefleet deployment tools.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
_MARK = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "wait": "[yellow]wait[/]"}


@app.callback()
def _root() -> None:
    """voicefleet deployment tools."""


@dataclass(frozen=True)
class Clients:
    cloudformation: Any
    ssm: Any
    ec2: Any
    s3: Any
    secrets: Any
    quotas: Any
    ce: Any

    @classmethod
    def for_region(cls, region: str) -> Clients:
        import boto3

        def make(service: str, where: str = region) -> Any:
            factory: Any = boto3.client
            return factory(service, region_name=where)

        # Cost Explorer answers in us-east-1 only.
        return cls(
            make("cloudformation"), make("ssm"), make("ec2"), make("s3"), make("secretsmanager"),
            make("service-quotas"), make("ce", "us-east-1"),
        )  # fmt: skip


def run_checks(env: str, clients: Clients | None = None) -> list[Check]:
    from botocore.exceptions import BotoCoreError

    from infra.preflight.account import default_vpc_check, quota_checks
    from infra.preflight.deployed import deployed_checks
    from voicefleet_config import load_environment

    config = load_environment(env)
    try:
        clients = clients or Clients.for_region(config.region)
        return [
            *quota_checks(config, clients.quotas),
            default_vpc_check(clients.ec2, config.region),
            *deployed_checks(config, clients),
        ]
    except BotoCoreError as exc:  # no credentials, no route to AWS, ...
        raise PreflightAwsError(str(exc)) from exc


@app.command()
def preflight(env: Annotated[str, typer.Option("--env", help="Environment in cdk.json.")]) -> None:
    """Check quotas, image, weights, API keys and the cost-allocation tag; print each fix."""
    from voicefleet_config import ConfigError

    try:
        checks = run_checks(env)
    except ConfigError as exc:
        err.print(f"voicefleet preflight: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    except PreflightAwsError as exc:
        err.print(f"voicefleet preflight: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    table = Table(title=f"voicefleet preflight: {env}", show_lines=False)
    for column in ("check", "result", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(check.name, _MARK[check.status], check.detail, check.fix)
    out.print(table)
    if any(check.status == "fail" for check in checks):
        raise typer.Exit(1)


def main() -> None:
    app(prog_name="voicefleet")


if __name__ == "__main__":
    main()

"""Builds the CDK app from cdk.json's environments: config read once, validated, passed down typed."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.budget import budget_limit
from infra.stack import VoiceFleetStack
from voicefleet_config import ConfigError, EnvironmentConfig, load_environments, select


def parse_context_args(argv: list[str]) -> dict[str, str]:
    """`-c key=value` / `--context key=value` pairs, as the CDK CLI accepts them (for `python app.py -c env=x`)."""
    context: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        if arg in ("-c", "--context"):
            pair = next(args, "")
        elif arg.startswith("--context="):
            pair = arg.removeprefix("--context=")
        else:
            raise ConfigError(f"unexpected argument '{arg}' (usage: python app.py [-c env=NAME])")
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"context '{pair}' is not key=value (e.g. -c env=prod)")
        context[key] = value
    return context


def environments_from_context(app: cdk.App) -> dict[str, EnvironmentConfig]:
    """Validated environments from the app's context (cdk.json, read by the CLI or directly)."""
    raw = app.node.try_get_context("environments")
    return load_environments(raw=raw) if raw is not None else load_environments()


def add_nag(app: cdk.App) -> None:
    """cdk-nag's AWS Solutions pack as a policy-validation plugin: any unacknowledged finding fails `app.synth()`."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())


def build_app(app: cdk.App) -> list[VoiceFleetStack]:
    """One `VoiceFleet-<env>` stack per environment, or only the one named by `-c env=NAME`."""
    envs = environments_from_context(app)
    only = app.node.try_get_context("env")
    chosen = [select(envs, str(only))] if only else list(envs.values())
    return [VoiceFleetStack(app, config.stack_name, config=config, budget=budget_limit(config)) for config in chosen]

"""Builds the CDK app from cdk.json's environments: config read once, validated, passed down typed."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.budget import budget_limit
from infra.image.stack import ImageStack, image_stack_name
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


def image_stacks(app: cdk.App, chosen: list[EnvironmentConfig]) -> dict[str, ImageStack]:
    """One runtime-image stack per region of the chosen environments (their image settings must agree)."""
    by_region: dict[str, list[EnvironmentConfig]] = {}
    for config in chosen:
        by_region.setdefault(config.region, []).append(config)
    stacks = {}
    for region, configs in by_region.items():
        first = configs[0]
        for other in configs[1:]:
            for key, mine, theirs in (
                ("account", first.account, other.account),
                ("image.build_instance_type", first.image.build_instance_type, other.image.build_instance_type),
            ):
                if mine != theirs:
                    raise ConfigError(
                        f"environment '{other.name}': {key}: '{theirs}' differs from environment '{first.name}' "
                        f"('{mine}'), which shares its runtime image in {region}: make them equal"
                    )
        stacks[region] = ImageStack(
            app,
            image_stack_name(region),
            account=first.account,
            region=region,
            build_instance_type=first.image.build_instance_type,
            environments=tuple(c.name for c in configs),
        )
    return stacks


def build_app(app: cdk.App) -> list[VoiceFleetStack]:
    """One `VoiceFleet-<env>` stack per environment (or only the one named by `-c env=NAME`), each after the
    runtime-image stack of its region (`VoiceFleet-image-<region>`, shared), which it reaches only through the
    image's SSM parameter name."""
    envs = environments_from_context(app)
    only = app.node.try_get_context("env")
    chosen = [select(envs, str(only))] if only else list(envs.values())
    images = image_stacks(app, chosen)
    stacks = []
    for config in chosen:
        stack = VoiceFleetStack(app, config.stack_name, config=config, budget=budget_limit(config))
        stack.add_stack_dependency(images[config.region], "launches the runtime image (or one built on it)")
        stack.image_stack = images[config.region]
        stacks.append(stack)
    return stacks

"""Load and validate environments from cdk.json (`context.environments`), with one readable message per error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from voicefleet_config.model import EnvironmentConfig, did_you_mean

DEFAULT_CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


class ConfigError(ValueError):
    """A cdk.json environment is missing or invalid; the message names environment, key, value and fix."""


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the key at `loc` (for 'did you mean' on unknown keys)."""
    model: type[BaseModel] = EnvironmentConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            return None
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_error(env: str, exc: ValidationError) -> str:
    """The first validation error as one line: environment 'x': key: message."""
    err = exc.errors(include_url=False)[0]
    loc = tuple(err["loc"])
    key = _dotted(loc) or "(environment)"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        owner = _model_at(loc)
        hint = did_you_mean(str(loc[-1]), list(owner.model_fields)) if owner else ""
        msg = f"unknown key{hint}"
    elif err["type"] not in ("value_error", "assertion_error"):
        msg = f"{msg} (got {err['input']!r})"
    return f"environment '{env}': {key}: {msg}"


def parse_environment(name: str, raw: Mapping[str, Any]) -> EnvironmentConfig:
    """Validate one environment's raw dict; raises ConfigError with a one-line message."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"environment '{name}': expected an object, got {type(raw).__name__}")
    try:
        return EnvironmentConfig.model_validate({**raw, "name": name})
    except ValidationError as exc:
        raise ConfigError(format_error(name, exc)) from exc


def read_context(path: Path = DEFAULT_CDK_JSON) -> dict[str, Any]:
    """cdk.json's `context.environments` mapping, raw."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    envs = data.get("context", {}).get("environments")
    if not isinstance(envs, dict) or not envs:
        raise ConfigError(f"{path}: context.environments is missing or empty")
    return envs


def load_environments(
    path: Path = DEFAULT_CDK_JSON, raw: Mapping[str, Any] | None = None
) -> dict[str, EnvironmentConfig]:
    """Every environment in cdk.json (or in `raw`, e.g. the CDK app's context), validated."""
    envs = dict(raw) if raw is not None else read_context(path)
    return {name: parse_environment(name, body) for name, body in envs.items()}


def check_known(name: str, known: Mapping[str, Any]) -> None:
    """Raise ConfigError for an environment name that is not in `known`, listing the known ones."""
    if name not in known:
        names = ", ".join(sorted(known))
        raise ConfigError(f"unknown environment '{name}'{did_you_mean(name, list(known))} (known: {names})")


def select(envs: Mapping[str, EnvironmentConfig], name: str) -> EnvironmentConfig:
    """The named environment; an unknown name lists the known ones."""
    check_known(name, envs)
    return envs[name]


def load_environment(name: str, path: Path = DEFAULT_CDK_JSON) -> EnvironmentConfig:
    """One environment from cdk.json; unknown names list the known ones."""
    envs = read_context(path)
    check_known(name, envs)
    return parse_environment(name, envs[name])

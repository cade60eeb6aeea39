"""Structural rules for Image Builder (AWSTOE) component documents, and a runner for their steps.

AWS publishes no machine-readable schema for component documents, so these are the rules the AWSTOE user guide
states ("Use the AWSTOE component document framework", "Action modules"), written as a JSON schema plus the
uniqueness rules a JSON schema cannot say. They catch structure; that the steps work is proven by running them
(tests/boot runs the build and validate phases in its sandbox with `run_phase`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

# Action modules named in the AWSTOE guide (Linux-relevant ones; the Windows-only ones are not needed here).
ACTIONS = (
    "ExecuteBash", "ExecuteBinary", "ExecuteDocument", "S3Download", "S3Upload", "WebDownload", "Reboot",
    "UpdateOS", "CreateFile", "AppendFile", "CopyFile", "CopyFolder", "MoveFile", "MoveFolder", "DeleteFile",
    "DeleteFolder", "ListFiles", "ReadFile", "SetFileOwner", "SetFolderOwner", "SetFilePermissions",
    "SetFolderPermissions", "Assert",
)  # fmt: skip
PHASES = ("build", "validate", "test", "container-host-test")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schemaVersion", "phases"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "schemaVersion": {"const": "1.0"},
        "parameters": {"type": "array"},
        "constants": {"type": "array"},
        "phases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "steps"],
                "additionalProperties": False,
                "properties": {
                    "name": {"enum": list(PHASES)},
                    "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
                },
            },
        },
    },
    "$defs": {
        "step": {
            "type": "object",
            "required": ["name", "action"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_-]*$"},
                "action": {"enum": list(ACTIONS)},
                "timeoutSeconds": {"type": "integer", "minimum": -1},
                "onFailure": {"enum": ["Abort", "Continue", "Ignore"]},
                "maxAttempts": {"type": "integer", "minimum": 1},
                "if": {},
                "loop": {"type": "object"},
                "inputs": {},
            },
            "allOf": [
                {
                    "if": {"properties": {"action": {"const": "ExecuteBash"}}},
                    "then": {
                        "required": ["inputs"],
                        "properties": {
                            "inputs": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "commands": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                                    "file": {"type": "string"},
                                },
                                "oneOf": [{"required": ["commands"]}, {"required": ["file"]}],
                            }
                        },
                    },
                },
                {
                    "if": {"properties": {"action": {"const": "S3Download"}}},
                    "then": {
                        "required": ["inputs"],
                        "properties": {
                            "inputs": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["source", "destination"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "source": {"type": "string", "pattern": "^s3://[^/]+/.+"},
                                        "destination": {"type": "string", "pattern": "^/"},
                                        "expectedBucketOwner": {"type": "string"},
                                        "overwrite": {"type": "boolean"},
                                    },
                                },
                            }
                        },
                    },
                },
            ],
        }
    },
}


def problems(document: Mapping[str, Any]) -> list[str]:
    """Every rule the document breaks ("path: message"); empty when it is well formed."""
    from jsonschema import Draft202012Validator

    found = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in Draft202012Validator(SCHEMA).iter_errors(document)
    ]
    phases = [p.get("name") for p in document.get("phases", []) if isinstance(p, Mapping)]
    if len(set(phases)) != len(phases):
        found.append(f"phases: names repeat ({phases})")
    if not set(phases) & {"build", "validate", "test"}:
        found.append("phases: at least one of build, validate, test is required")
    for phase in document.get("phases", []):
        steps = [s.get("name") for s in phase.get("steps", []) if isinstance(s, Mapping)]
        if len(set(steps)) != len(steps):
            found.append(f"phases/{phase.get('name')}: step names repeat ({steps})")
    return found


S3Fetch = Callable[[str, str], None]
Execute = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def run_phase(
    document: Mapping[str, Any],
    phase: str,
    *,
    execute: Execute,
    s3_download: S3Fetch,
    rewrite: Callable[[str], str] = lambda command: command,
) -> list[str]:
    """Run one phase's steps in order, as AWSTOE would: an ExecuteBash step's commands as one bash script (through
    `execute`, e.g. inside the rehearsal's sandbox), S3Download through `s3_download(url, destination)`. `rewrite`
    edits a command for what cannot exist here (its caller names why). Returns the names of the steps run."""
    done = []
    for step in next(p for p in document["phases"] if p["name"] == phase)["steps"]:
        if step["action"] == "ExecuteBash":
            script = "\n".join(rewrite(c) for c in step["inputs"]["commands"])
            result = execute(["bash", "-c", script])
            if result.returncode != 0:
                tail = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
                raise StepError(f"{phase}/{step['name']} exited {result.returncode}:\n{tail}")
        elif step["action"] == "S3Download":
            for item in step["inputs"]:
                s3_download(item["source"], item["destination"])
        else:
            raise StepError(f"{phase}/{step['name']}: action {step['action']} is not run by this rehearsal")
        done.append(step["name"])
    return done


class StepError(RuntimeError):
    """A component step failed."""


def host_env(*keep: str) -> dict[str, str]:
    """A root shell's plain environment, plus the named variables of this one (the machine's TLS trust, proxy)."""
    base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    return {**base, **{k: v for k, v in os.environ.items() if k in keep}}

"""One check's outcome, and the AWS errors that end a preflight run (exit 2) instead of failing one check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

Status = Literal["pass", "fail", "wait"]
T = TypeVar("T")
# Answers that mean "this run cannot judge anything", not "this check failed".
FATAL_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status  # wait: possible only after an earlier deploy-day step (named in `fix`)
    detail: str
    fix: str = ""


class PreflightAwsError(RuntimeError):
    """AWS refused to answer (throttling, access denied, no credentials): one readable line, exit 2."""


def aws_error(call: str, exc: ClientError | BotoCoreError) -> PreflightAwsError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        hint = ""
        if code in ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"):
            hint = " (AWS is throttling this account's calls: wait a minute and run preflight again)"
        elif "Denied" in code or code == "UnauthorizedOperation":
            hint = " (the credentials in use lack this permission: use an administrator's, or grant it)"
        return PreflightAwsError(f"{call}: {code}: {message}{hint}")
    return PreflightAwsError(f"{call}: {exc}")


def is_fatal(exc: ClientError) -> bool:
    return error_code(exc) in FATAL_CODES


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def answer(call: str, request: Callable[[], T]) -> T | ClientError:
    """What `request` (one AWS call, named `call` in errors) returned, or the ClientError AWS answered for the check
    to judge (not found, invalid, ...); an answer that ends the run — a fatal code, no connection — raises
    PreflightAwsError."""
    try:
        return request()
    except ClientError as exc:
        if is_fatal(exc):
            raise aws_error(call, exc) from exc
        return exc
    except BotoCoreError as exc:
        raise aws_error(call, exc) from exc

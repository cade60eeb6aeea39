"""IMDSv2 on the instance: a session token from a PUT, then GETs. The endpoint is boto3's own override variable
(AWS_EC2_METADATA_SERVICE_ENDPOINT), so the boot rehearsal points this and boto3's credential lookup at one fake."""

from __future__ import annotations

import os

import httpx

DEFAULT_ENDPOINT = "http://169.254.169.254"
ENDPOINT_VARIABLE = "AWS_EC2_METADATA_SERVICE_ENDPOINT"


class ImdsError(RuntimeError):
    """The metadata service did not answer."""


def endpoint() -> str:
    return os.environ.get(ENDPOINT_VARIABLE, DEFAULT_ENDPOINT).rstrip("/")


class Imds:
    def __init__(self, base: str | None = None, *, timeout_s: float = 2.0, attempts: int = 5) -> None:
        self.base = (base or endpoint()).rstrip("/")
        self.timeout_s = timeout_s
        self.attempts = attempts

    def _token(self, client: httpx.Client) -> str:
        response = client.put(f"{self.base}/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
        response.raise_for_status()
        return response.text

    def get(self, path: str) -> str | None:
        """meta-data/<path>; None when the path does not exist (404)."""
        last: Exception | None = None
        for _ in range(self.attempts):
            try:
                with httpx.Client(timeout=self.timeout_s) as client:
                    token = self._token(client)
                    response = client.get(
                        f"{self.base}/latest/meta-data/{path}", headers={"X-aws-ec2-metadata-token": token}
                    )
                if response.status_code == 404:
                    return None
                response.raise_for_status()
                return response.text
            except httpx.HTTPError as exc:
                last = exc
        raise ImdsError(f"instance metadata {path}: {last}")

    def require(self, path: str) -> str:
        value = self.get(path)
        if value is None:
            raise ImdsError(f"instance metadata {path}: not found")
        return value

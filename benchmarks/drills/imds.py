"""A fake EC2 instance metadata service (IMDSv2 subset) on loopback: token PUT, spot/instance-action, and any
other meta-data path set in `meta` (instance id, lifecycle state, the role credentials boto3 fetches)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

META = "/latest/meta-data/"


class FakeImds:
    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.instance_action: dict[str, str] | None = None
        self.token_puts = 0
        self.action_gets = 0
        self.unauthorized = 0
        self.meta: dict[str, str] = {}
        self.gets: list[str] = []
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, body: str = "") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    self._send(400)
                    return
                token = secrets.token_urlsafe(16)
                imds.tokens.add(token)
                imds.token_puts += 1
                self._send(200, token)

            def do_GET(self) -> None:
                if self.headers.get("X-aws-ec2-metadata-token") not in imds.tokens:
                    imds.unauthorized += 1
                    self._send(401)
                    return
                imds.gets.append(self.path)
                if self.path.startswith(META) and self.path[len(META) :] in imds.meta:
                    self._send(200, imds.meta[self.path[len(META) :]])
                    return
                if self.path != "/latest/meta-data/spot/instance-action":
                    self._send(404)
                    return
                imds.action_gets += 1
                if imds.instance_action is None:
                    self._send(404)
                else:
                    self._send(200, json.dumps(imds.instance_action))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def announce(self, action: str = "terminate", when: str = "2026-03-14T10:02:00Z") -> None:
        self.instance_action = {"action": action, "time": when}

    def role_credentials(self, role: str = "voicefleet-instance") -> None:
        """Serve an instance role's credentials the way boto3's IMDS credential provider reads them."""
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.meta["iam/security-credentials/"] = role
        self.meta[f"iam/security-credentials/{role}"] = json.dumps(
            {
                "Code": "Success",
                "Type": "AWS-HMAC",
                "AccessKeyId": "testing",
                "SecretAccessKey": "testing",
                "Token": "testing",
                "Expiration": expires,
            }
        )

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

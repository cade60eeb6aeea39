"""amazon-cloudwatch-agent-ctl for the boot rehearsal: the agent cannot be installed here (its package comes from
AWS's Image Builder component). This does what its control script does before it starts the agent, with the
agent's own rules: `-a fetch-config -m ec2 -s -c file:PATH`, then the configuration validated against the agent's
JSON schema (vendored), failing as its translator does ("Invalid Json input schema", non-zero exit). An accepted
configuration is recorded next to it for the test to read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.vendor_files import cloudwatch_agent_errors

ACCEPTED = Path("/opt/aws/amazon-cloudwatch-agent/etc/accepted-by-rehearsal.json")


def main(argv: list[str]) -> int:
    if argv[:6] != ["-a", "fetch-config", "-m", "ec2", "-s", "-c"] or len(argv) != 7 or not argv[6].startswith("file:"):
        print(f"amazon-cloudwatch-agent-ctl (rehearsal): unexpected arguments {argv}", file=sys.stderr)
        return 1
    path = Path(argv[6].removeprefix("file:"))
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"E! {path}: {exc}", file=sys.stderr)
        return 1
    errors = cloudwatch_agent_errors(config)
    if errors:
        print("E! Invalid Json input schema.", *errors, sep="\n", file=sys.stderr)
        return 1
    ACCEPTED.write_text(json.dumps(config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

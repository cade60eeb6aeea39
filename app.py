#!/usr/bin/env python3
"""CDK entry point: one stack per environment of cdk.json (`-c env=NAME` synthesizes just that one).

Run it through the CLI (`npx aws-cdk synth -c env=prod`) or directly (`python app.py [-c env=prod]`), which writes
the templates to cdk.out/.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from infra.app import add_nag, build_app, parse_context_args
from voicefleet_config import ConfigError


def main(argv: list[str]) -> int:
    # The CDK CLI passes its own outdir and context through the environment; run directly, mimic it.
    outdir = None if "CDK_OUTDIR" in os.environ else Path("cdk.out")
    fresh = outdir is not None and not outdir.exists()
    try:
        context = parse_context_args(argv)
        app = cdk.App(outdir=str(outdir) if outdir else None, context=context or None)
        add_nag(app)
        build_app(app)
    except ConfigError as exc:
        if fresh and outdir is not None:
            shutil.rmtree(outdir, ignore_errors=True)  # cdk.App creates it eagerly; leave nothing behind
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

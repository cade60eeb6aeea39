"""The GPU fleet: launch template, boot script, Auto Scaling group (Spot mix), launch and drain hooks, scaling.

The construct is in infra/fleet/construct.py; this package imports no aws_cdk itself, so the boot script and the
CloudWatch agent config render where the CDK is not installed (the boot rehearsal runs in the instance runtime).
"""

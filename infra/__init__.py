"""AWS CDK app: one stack per environment, one construct per concern. Import aws_cdk only below this package's
construct modules, never from `infra.config` (the cost CLI must stay fast)."""

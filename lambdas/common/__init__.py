"""Pieces both Lambda handlers share: environment parsing, JSON logs, metrics, boto3 client settings."""

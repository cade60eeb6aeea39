"""AWS CDK app: one stack per environment, one construct per concern. Only app.py and tests import this package
(tests/test_architecture.py); the configuration it synthesizes from is voicefleet_config."""

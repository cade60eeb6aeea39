"""`voicefleet preflight --env NAME`: what a first deployment needs from the AWS account, checked with boto3 before
(and after) `cdk deploy`, each with its fix. No aws_cdk import: it starts fast."""

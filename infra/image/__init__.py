"""The golden image: EC2 Image Builder bakes the instance runtime (from runtime/instance.lock), upstream CosyVoice
at the pinned commit, voicefleet and the CloudWatch agent into a DLAMI-based AMI, and publishes its id to an SSM
parameter the launch template resolves at launch. One runtime image per region (infra/image/stack.py); an
environment that bakes its weights adds its own thin image on top (infra/image/weights.py).

`components` renders the Image Builder component documents without aws_cdk, so the boot rehearsal runs the same
steps in its sandbox.
"""

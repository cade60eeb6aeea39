"""Fault drills against the real `tts-serve` process, and the parts they are built from (shared with the service's
end-to-end tests): a fake IMDSv2 on loopback, a TCP proxy that cuts S3 for real, the `tts-serve` subprocess
harness and a closed-loop load generator that puts every request in exactly one bucket."""

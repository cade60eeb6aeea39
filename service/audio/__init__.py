"""Audio in and out: encoding, loudness, resampling, and checks on uploaded prompt clips."""

"""Contract tests: the deployment files agree with the code."""

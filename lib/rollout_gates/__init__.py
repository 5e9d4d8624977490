"""rollout-gates: the Assignment Pipeline V3 runbook's checkpoints as notebook gates."""

__version__ = "0.1.0"

"""Simulated rollouts written into observability_events, and the demo."""

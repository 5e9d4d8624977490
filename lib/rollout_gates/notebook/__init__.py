"""The kernel side: what a gate notebook opens, and what it computes with."""

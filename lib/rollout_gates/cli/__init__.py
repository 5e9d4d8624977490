"""The `rollout-gates` command line."""

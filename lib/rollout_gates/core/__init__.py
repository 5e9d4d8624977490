"""The vocabulary every layer uses: verdicts, statistics, errors, time, evidence paths.

Imports nothing else of rollout_gates."""

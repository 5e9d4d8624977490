"""Exceptions that carry the exit code the CLI should end with."""

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_ERROR = 0, 1, 2, 3, 4


class RolloutGatesError(Exception):
    """An error the user can act on; its message is shown as one line."""

    exit_code = EXIT_ERROR


class UsageError(RolloutGatesError):
    """Bad input: a wrong parameter, gate, environment or file."""

    exit_code = EXIT_USAGE


class DatabaseError(RolloutGatesError):
    """The database could not be reached or queried."""

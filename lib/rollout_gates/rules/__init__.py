"""Pure decision rules: observations in, Checks out. No database, no pandas."""

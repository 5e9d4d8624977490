"""Running notebooks with papermill and keeping their evidence: lock, watch, notify.

No SQLAlchemy, pandas or matplotlib here: a run's parent process stays light."""

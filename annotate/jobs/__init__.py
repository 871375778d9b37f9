"""Job functions run by the RQ worker (or in-process). Each takes a job row's id."""

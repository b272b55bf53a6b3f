"""Running it: `serve` and its supervisor (`supervise`), batch scoring on Dask (`batch`), the setup and
health checks (`verify`)."""

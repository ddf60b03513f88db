"""The study contract: its configuration, attribute names, storage, sampler and pruner,
budget accounting, statistics and queries. Never imports the runtime, the service, the CLI
or the API."""

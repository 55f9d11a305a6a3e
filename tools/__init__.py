"""Host tools behind the `sensorkit` command."""

"""Operating the service: heartbeats, health checks, metrics, structured logs, backups."""

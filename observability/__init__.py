"""Traces and metrics an operator reads: OpenTelemetry set-up from config, Prometheus metrics."""

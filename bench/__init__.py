"""Benchmarks: figures for telecast beside raw PostgreSQL and JetStream measured in the same run."""

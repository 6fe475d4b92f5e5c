"""Prometheus metrics of one control-plane app, in a registry of its own (tests run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "turnout_http_requests_total",
            "HTTP requests by route template, method and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "turnout_http_request_seconds",
            "HTTP request duration by route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.switches = Counter(
            "turnout_switches_total",
            "Switches by final state (completed, failed, timed_out)",
            ["state"],
            registry=self.registry,
        )
        self.switch_seconds = Histogram(
            "turnout_switch_seconds",
            "Time from switch request to completion",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.background_errors = Counter(
            "turnout_background_errors_total",
            "Failures of a background task iteration (watcher, reconciler, lag sampler)",
            ["task"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "turnout_reconciler_leader",
            "1 while this replica is the elected reconciler leader",
            registry=self.registry,
        )
        self.reconciled = Counter(
            "turnout_reconciler_directive_writes_total",
            "Directives the reconciler had to (re)write because ZooKeeper differed from the DB",
            registry=self.registry,
        )

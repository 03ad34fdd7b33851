"""The pipeline's Lambda functions, invoked in-process the way their triggers invoke them on AWS.

The manifest builder takes each batch of the SQS event source mapping (`poller`); the flush
function runs on its schedule and on each execution status change (the EventBridge rule on the
state machine). Before each invocation the environment the deployment gives that function is
applied, because the handlers read their settings from it as they do on Lambda; after it, the
metrics Powertools keeps while they are disabled are dropped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ndjson_parquet.cli.local.lambda_context import LocalLambdaContext
from ndjson_parquet.cli.local.resources import Deployment
from ndjson_parquet.cli.local.server import Emulator
from ndjson_parquet.common import ResourceNames

log = logging.getLogger(__name__)


class LocalFunctions:
    """The manifest builder and flush functions of one deployment, with invocation counts."""

    def __init__(
        self, emulator: Emulator, names: ResourceNames, deployment: Callable[[], Deployment]
    ) -> None:
        self.emulator = emulator
        self.names = names
        self._deployment = deployment  # read at each invocation: the pipeline deploys later
        self.flushes = 0
        self.flush_errors = 0
        self.status_change_invocations = 0
        # Function name -> the environment the runtime set for its last invocation.
        self.environments_applied: dict[str, dict[str, str]] = {}

    def invoke_builder(self, event: dict[str, Any], context: Any) -> Any:
        """One invocation of the manifest builder (the handler of the SQS event source)."""
        from ndjson_parquet.manifest_builder import handler

        self._apply_environment(
            self.names.manifest_builder_function, self._deployment().builder_environment
        )
        try:
            return handler.lambda_handler(event, context)
        finally:
            _drop_disabled_metrics(handler)

    def flush(self) -> Any:
        """One run of the scheduled flush function."""
        self.flushes += 1
        return self._invoke_flush_function("Scheduled Event", "aws.events", f"flush-{self.flushes}")

    def execution_status_changed(self) -> Any:
        """What the EventBridge rule on the state machine's status changes does: invoke the
        flush function, which then only starts queued manifests in the freed slots."""
        from ndjson_parquet.manifest_builder.handler import EXECUTION_STATUS_CHANGE

        self.status_change_invocations += 1
        return self._invoke_flush_function(
            EXECUTION_STATUS_CHANGE, "aws.states", f"status-{self.status_change_invocations}"
        )

    def _invoke_flush_function(self, detail_type: str, source: str, event_id: str) -> Any:
        from ndjson_parquet.manifest_builder import handler

        deployment = self._deployment()
        self._apply_environment(self.names.flush_function, deployment.flush_environment)
        event = {
            "version": "0",
            "id": f"local-{event_id}",
            "detail-type": detail_type,
            "source": source,
            "account": "123456789012",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": deployment.region,
            "resources": [],
            "detail": {},
        }
        context = LocalLambdaContext(
            function_name=self.names.flush_function, region=deployment.region
        )
        try:
            return handler.flush_handler(event, context)
        except Exception:
            self.flush_errors += 1
            log.exception("flush function failed (%s)", detail_type)
            return None
        finally:
            _drop_disabled_metrics(handler)

    def _apply_environment(self, function: str, environment: dict[str, str]) -> None:
        self.environments_applied[function] = dict(environment)
        if any(os.environ.get(k) != v for k, v in environment.items()):
            self.emulator.set_env(environment)


def _drop_disabled_metrics(handler: Any) -> None:
    """With POWERTOOLS_METRICS_DISABLED, Powertools 3.x skips printing on flush but keeps the
    values, and prints them anyway once a metric has 100 (on stdout, over the progress
    display); the local runtime forgets them after each invocation instead."""
    metrics = getattr(handler, "metrics", None)
    if metrics is not None and os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        metrics.clear_metrics()

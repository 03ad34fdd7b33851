"""Lambda entry points.

- `lambda_handler`: the SQS event source (S3 notifications); returns `batchItemFailures`.
- `flush_handler`: scheduled; cuts overdue groups, queues manifests not queued yet, recovers
  conversion slots and starts queued manifests. Also the target of the state machine's
  execution status changes (EventBridge): then it only starts queued manifests in the slot the
  ended execution gave back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from ndjson_parquet.common.settings import Defaults, Env
from ndjson_parquet.manifest_builder.builder import Counts, Invocation, ManifestBuilder
from ndjson_parquet.manifest_builder.settings import Settings

SERVICE = os.environ.get(Env.POWERTOOLS_SERVICE_NAME, "manifest-builder")
logger = Logger(service=SERVICE)
metrics = Metrics(
    namespace=os.environ.get(Env.POWERTOOLS_METRICS_NAMESPACE, Defaults.METRICS_NAMESPACE),
    service=SERVICE,
)
tracer = Tracer(service=SERVICE)
# The package's modules log through the standard library; give them the same JSON format and
# keys (correlation id, message id) as the Powertools logger.
_modules_logger = logging.getLogger(__package__)
_modules_logger.handlers = [logger.registered_handler]
_modules_logger.setLevel(logger.log_level)
_modules_logger.propagate = False  # the Lambda runtime's root handler would log them twice

# The EventBridge detail-type of a Step Functions execution's status change.
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"

# Stop starting new cuts when the invocation has less than this left (the lease outlives us).
_RESERVE_MILLIS = 10_000

_builder: ManifestBuilder | None = None
_injected = False


def builder() -> ManifestBuilder:
    """The container's builder: clients are made once, and again only if the settings change.

    Reading the environment is cheap; re-checking it lets a local emulator change the
    configuration (the state machine ARN, say) between invocations of one process.
    """
    global _builder
    if _injected and _builder is not None:
        return _builder
    settings = Settings.from_env()
    endpoint = os.environ.get(Env.AWS_ENDPOINT_URL, "")
    if _builder is None or (_builder.settings, _builder.endpoint) != (settings, endpoint):
        _builder = ManifestBuilder(settings)
    return _builder


def use_builder(instance: ManifestBuilder | None) -> None:
    """Use `instance` for every invocation (tests inject clocks and settings this way);
    None goes back to the environment."""
    global _builder, _injected
    _builder = instance
    _injected = instance is not None


def _emit(counts: Counts) -> None:
    metrics.add_metric("FilesRegistered", MetricUnit.Count, counts.files_registered)
    metrics.add_metric("BytesRegistered", MetricUnit.Bytes, counts.bytes_registered)
    metrics.add_metric("DuplicateFiles", MetricUnit.Count, counts.duplicates)
    metrics.add_metric("IgnoredObjects", MetricUnit.Count, counts.ignored)
    metrics.add_metric("ManifestsCreated", MetricUnit.Count, counts.manifests_created)
    metrics.add_metric("ManifestsQueued", MetricUnit.Count, counts.manifests_queued)
    metrics.add_metric("ManifestsStarted", MetricUnit.Count, counts.manifests_started)
    metrics.add_metric("ManifestStartFailures", MetricUnit.Count, counts.start_failures)
    metrics.add_metric("CutErrors", MetricUnit.Count, counts.cut_errors)


def _should_stop(context: LambdaContext) -> Callable[[], bool]:
    return lambda: context.get_remaining_time_in_millis() < _RESERVE_MILLIS


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Register every file of an SQS batch; only unreadable messages are reported as failed."""
    work = builder()
    invocation = Invocation()

    def record_handler(record: SqsRecordModel) -> None:
        logger.set_correlation_id(record.messageId)
        logger.append_keys(message_id=record.messageId)
        try:
            work.register_body(str(record.body), invocation)
        except Exception:
            logger.exception("message not processed")
            raise
        finally:
            logger.remove_keys(["message_id"])
            logger.set_correlation_id(None)

    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    work.settle(invocation, _should_stop(context))
    _emit(invocation.counts)
    logger.info("batch done", extra={"counts": invocation.counts.as_dict()})
    return response


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def flush_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Cut groups whose oldest file waited too long, queue and admit manifests; after an
    execution's status change, only admit."""
    if event.get("detail-type") == EXECUTION_STATUS_CHANGE:
        summary = builder().admit_after_execution()
    else:
        summary = builder().flush(_should_stop(context))
    metrics.add_metric("ManifestsCreated", MetricUnit.Count, summary["manifests_created"])
    metrics.add_metric("ManifestsQueued", MetricUnit.Count, summary["manifests_queued"])
    metrics.add_metric("ManifestsStarted", MetricUnit.Count, summary["manifests_started"])
    metrics.add_metric("ManifestStartFailures", MetricUnit.Count, summary["start_failures"])
    metrics.add_metric("ConversionSlotsRecovered", MetricUnit.Count, summary["slots_recovered"])
    logger.info("flush done", extra={"summary": summary})
    return summary

"""What `terraform apply` of infra/ needs from moto (each one stopped or broke the apply); part of
the workarounds `moto_fixes.apply()` installs.

a. SQS GetQueueAttributes never returns `RedriveAllowPolicy` (moto stores it but leaves it out
   of its attribute list), so the AWS provider's wait for the attributes it set never ends.
b. Step Functions `ValidateStateMachineDefinition` and `ListStateMachineVersions` are not
   implemented (HTTP 500, which the provider retries for minutes); it calls the first before
   creating a state machine and the second when reading one. The first is answered with
   moto's own ASL parser, the second from moto's record of published versions.
c. moto's bucket policies ignore `Bool` conditions, so a statement that denies requests
   without TLS (`aws:SecureTransport` false, as every bucket of infra/ has) denies every
   object request, over HTTPS too. S3 requests record whether they came over HTTPS, and
   such statements apply only when the condition holds, as on AWS.
d. moto delivers an SQS queue's messages to a Lambda event source mapping inside SendMessage,
   in a container; on AWS, Lambda polls. The mapping is kept (its settings are what the local
   runtime's poller reads) but moto's inline delivery is detached from the queue.
e. In a bucket whose versioning is Suspended (the provider suspends it when it destroys
   `aws_s3_bucket_versioning`, before it empties the bucket for `force_destroy`), moto's
   DeleteObject(s) ignores VersionId and drops every version of the key, calling `dispose()`
   on each; delete markers have none, so the request fails with HTTP 500 and the provider
   retries the bucket's deletion forever. Delete markers get a `dispose()` that does nothing
   (they hold no data). moto still drops all versions of the key at once there, where AWS
   drops the one version: emptying a bucket ends the same.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Final

from ndjson_parquet.cli.emulator.shape import MARK as _MARK
from ndjson_parquet.cli.emulator.shape import MotoShapeError

_REDRIVE_ALLOW_POLICY: Final = "RedriveAllowPolicy"
_CREATE_MAPPING: Final = "create_event_source_mapping"
_DISPOSE: Final = "dispose"
_original_create_mapping: Callable[..., Any] | None = None


def _sqs_queue_class() -> type[Any]:
    from moto.sqs.models import Queue

    if not isinstance(getattr(Queue, "BASE_ATTRIBUTES", None), list):
        raise MotoShapeError("moto.sqs.models.Queue.BASE_ATTRIBUTES is gone")
    return Queue


def redrive_allow_policy_dropped() -> bool:
    """Whether moto's queues still leave RedriveAllowPolicy out of their attributes."""
    return _REDRIVE_ALLOW_POLICY not in _sqs_queue_class().BASE_ATTRIBUTES


def _apply_redrive_allow_policy_fix() -> None:
    queue_cls = _sqs_queue_class()
    if not redrive_allow_policy_dropped():
        return
    # Queues keep every attribute they were given as a snake_case field; the class default
    # covers queues created without one (None is left out of the response, as for Policy).
    queue_cls.redrive_allow_policy = None
    queue_cls.BASE_ATTRIBUTES.append(_REDRIVE_ALLOW_POLICY)
    setattr(queue_cls, _MARK, True)


def _revert_redrive_allow_policy_fix() -> None:
    queue_cls = _sqs_queue_class()
    if queue_cls.__dict__.get(_MARK):
        queue_cls.BASE_ATTRIBUTES.remove(_REDRIVE_ALLOW_POLICY)
        delattr(queue_cls, "redrive_allow_policy")
        delattr(queue_cls, _MARK)


def _sfn_response_class() -> type[Any]:
    from moto.stepfunctions.responses import StepFunctionResponse

    return StepFunctionResponse


def _validate_state_machine_definition(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    try:
        AmazonStateLanguageParser.parse(self._get_param("definition"))
    except Exception as exc:  # the parser's exceptions are its verdict on the definition
        diagnostic = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": str(exc)}
        return ActionResult({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})


def _list_state_machine_versions(self: Any) -> Any:
    from moto.core.responses import ActionResult

    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    versions = [
        {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
        for _, v in sorted(getattr(machine, "versions", {}).items(), reverse=True)
    ]
    return ActionResult({"stateMachineVersions": versions})


_MISSING_SFN_ACTIONS: Final[dict[str, Callable[..., Any]]] = {
    "validate_state_machine_definition": _validate_state_machine_definition,
    "list_state_machine_versions": _list_state_machine_versions,
}


def missing_sfn_actions() -> list[str]:
    """The Step Functions actions the AWS provider needs that moto still does not implement."""
    response_cls = _sfn_response_class()
    return [
        name
        for name in _MISSING_SFN_ACTIONS
        if name not in response_cls.__dict__ or getattr(response_cls.__dict__[name], _MARK, False)
    ]


def _apply_sfn_actions_fix() -> None:
    response_cls = _sfn_response_class()
    for name in missing_sfn_actions():
        action = _MISSING_SFN_ACTIONS[name]
        setattr(action, _MARK, True)
        setattr(response_cls, name, action)


def _revert_sfn_actions_fix() -> None:
    response_cls = _sfn_response_class()
    for name in _MISSING_SFN_ACTIONS:
        if getattr(response_cls.__dict__.get(name), _MARK, False):
            delattr(response_cls, name)


_SECURE_TRANSPORT: Final = "aws:SecureTransport"
_transport = threading.local()  # .secure: whether this thread's current S3 request used HTTPS
_original_s3_setup: Callable[..., Any] | None = None
_original_get_permission: Callable[..., Any] | None = None


def _s3_classes() -> tuple[type[Any], type[Any]]:
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    for cls, name in ((FakeBucket, "get_permission"), (S3Response, "setup_class")):
        if not callable(getattr(cls, name, None)):
            raise MotoShapeError(f"{cls.__name__}.{name} is gone")
    return FakeBucket, S3Response


def _statement_applies(statement: dict[str, Any], secure: bool) -> bool:
    """False when the statement's aws:SecureTransport condition does not hold for `secure`."""
    for operator, keys in (statement.get("Condition") or {}).items():
        if operator == "Bool" and _SECURE_TRANSPORT in keys:
            expected = keys[_SECURE_TRANSPORT]
            values = expected if isinstance(expected, list) else [expected]
            if str(secure).lower() not in [str(v).lower() for v in values]:
                return False
    return True


def _apply_secure_transport_fix() -> None:
    global _original_s3_setup, _original_get_permission
    if _original_get_permission is not None:
        return
    from urllib.parse import urlparse

    bucket_cls, response_cls = _s3_classes()
    original_setup: Callable[..., Any] = response_cls.setup_class
    original_permission: Callable[..., Any] = bucket_cls.get_permission

    def setup_class(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        original_setup(self, request, *args, **kwargs)
        _transport.secure = urlparse(str(self.uri)).scheme == "https"

    def get_permission(self: Any, action: str, resource: str) -> Any:
        secure = getattr(_transport, "secure", None)
        if self.policy is None or secure is None:
            return original_permission(self, action, resource)
        from moto.iam.access_control import IAMPolicy

        document = json.loads(self.policy)
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        document["Statement"] = [s for s in statements if _statement_applies(s, secure)]
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    for patched in (setup_class, get_permission):
        setattr(patched, _MARK, True)
    _original_s3_setup, _original_get_permission = original_setup, original_permission
    response_cls.setup_class = setup_class
    bucket_cls.get_permission = get_permission


def _revert_secure_transport_fix() -> None:
    global _original_s3_setup, _original_get_permission
    if _original_get_permission is None or _original_s3_setup is None:
        return
    bucket_cls, response_cls = _s3_classes()
    response_cls.setup_class = _original_s3_setup
    bucket_cls.get_permission = _original_get_permission
    _original_s3_setup = _original_get_permission = None


def _apply_inline_delivery_fix() -> None:
    global _original_create_mapping
    if _original_create_mapping is not None:
        return
    from moto.awslambda.models import LambdaBackend
    from moto.sqs.models import sqs_backends

    original: Callable[..., Any] = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        mapping = original(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            delivered_inline = getattr(queue, "lambda_event_source_mappings", None)
            if not isinstance(delivered_inline, dict):
                raise MotoShapeError("SQS queues no longer hold lambda_event_source_mappings")
            if queue.queue_arn == mapping.event_source_arn:
                delivered_inline.pop(mapping.function_arn, None)
        return mapping

    setattr(create_event_source_mapping, _MARK, True)
    _original_create_mapping = original
    setattr(LambdaBackend, _CREATE_MAPPING, create_event_source_mapping)


def _revert_inline_delivery_fix() -> None:
    global _original_create_mapping
    from moto.awslambda.models import LambdaBackend

    if _original_create_mapping is not None:
        setattr(LambdaBackend, _CREATE_MAPPING, _original_create_mapping)
        _original_create_mapping = None


def _delete_marker_class() -> type[Any]:
    from moto.s3.models import FakeDeleteMarker

    return FakeDeleteMarker


def delete_marker_dispose_missing() -> bool:
    """Whether moto's delete markers still lack the dispose() that deleting a key calls."""
    return not callable(getattr(_delete_marker_class(), _DISPOSE, None))


def _apply_delete_marker_fix() -> None:
    marker_cls = _delete_marker_class()
    if not delete_marker_dispose_missing():
        return

    def dispose(self: Any, garbage: bool = False) -> None:
        """A delete marker holds no data: nothing to release."""

    setattr(marker_cls, _DISPOSE, dispose)
    setattr(marker_cls, _MARK, True)


def _revert_delete_marker_fix() -> None:
    marker_cls = _delete_marker_class()
    if marker_cls.__dict__.get(_MARK):
        delattr(marker_cls, _DISPOSE)
        delattr(marker_cls, _MARK)


def apply() -> None:
    """Install these workarounds (idempotent; the caller holds moto_fixes' lock)."""
    _apply_redrive_allow_policy_fix()
    _apply_sfn_actions_fix()
    _apply_secure_transport_fix()
    _apply_inline_delivery_fix()
    _apply_delete_marker_fix()


def revert() -> None:
    """Remove these workarounds (idempotent)."""
    _revert_redrive_allow_policy_fix()
    _revert_sfn_actions_fix()
    _revert_secure_transport_fix()
    _revert_inline_delivery_fix()
    _revert_delete_marker_fix()

"""The conditional DynamoDB UpdateItem that moves a manifest from one status to the next, as
Step Functions task parameters: the status, its time and the gsi2 key set together, and the
move allowed only from the statuses `common.status` says may lead to it.
"""

from __future__ import annotations

from typing import Any, Final

from ndjson_parquet.common.keys import ManifestAttr, ManifestKey, TableAttr, status_gsi2
from ndjson_parquet.common.status import Status, sources_of
from ndjson_parquet.workflow.names import format_template
from ndjson_parquet.workflow.settings import WorkflowSettings

# The workflow input field holding the manifest id.
MANIFEST_ID_INPUT: Final = "manifest_id"

# `$$.State.EnteredTime` is the ISO-8601 UTC time the state was entered; it is the status
# update time, and (with the manifest id) the gsi2 sort key, as `common.keys.status_gsi2` says.
NOW: Final = "$$.State.EnteredTime"


def _manifest_key() -> dict[str, Any]:
    # ManifestKey builds `MANIFEST#<id>`: build it around a `{}` to get the Format template.
    template = ManifestKey("{}")
    return {
        TableAttr.PK: {
            "S.$": f"States.Format({format_template(template.pk)}, $.{MANIFEST_ID_INPUT})"
        },
        TableAttr.SK: {"S": template.sk},
    }


def _status_fields(status: Status) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """SET clauses, names and values common to every status change: status, time, gsi2."""
    gsi2 = status_gsi2(status, "{}", "{}")
    names = {
        "#status": ManifestAttr.STATUS,
        "#updated_at": ManifestAttr.UPDATED_AT,
        "#gsi2pk": TableAttr.GSI2_PK,
        "#gsi2sk": TableAttr.GSI2_SK,
    }
    values: dict[str, Any] = {
        ":status": {"S": str(status)},
        ":now": {"S.$": NOW},
        ":gsi2pk": {"S": gsi2[TableAttr.GSI2_PK]},
        ":gsi2sk": {
            "S.$": f"States.Format({format_template(gsi2[TableAttr.GSI2_SK])}, "
            f"{NOW}, $.{MANIFEST_ID_INPUT})"
        },
    }
    sets = [
        "#status = :status",
        "#updated_at = :now",
        "#gsi2pk = :gsi2pk",
        "#gsi2sk = :gsi2sk",
    ]
    return sets, names, values


def _condition_from(sources: frozenset[Status]) -> tuple[str, dict[str, Any]]:
    """A condition that the item exists and its status is one of `sources`."""
    ordered = sorted(sources)
    placeholders = [f":from_{s}" for s in ordered]
    values = {p: {"S": str(s)} for p, s in zip(placeholders, ordered, strict=True)}
    condition = f"attribute_exists(#pk) AND #status IN ({', '.join(placeholders)})"
    return condition, values


def update_item(
    settings: WorkflowSettings,
    status: Status,
    sets: dict[str, str],
    values: dict[str, Any],
    remove: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Parameters of a conditional dynamodb:updateItem moving the manifest to `status`.

    `sets` maps further attributes to their new value's expression (using placeholders defined
    in `values`); `remove` names attributes to delete.
    """
    clauses, names, all_values = _status_fields(status)
    condition, condition_values = _condition_from(sources_of(status))
    names["#pk"] = TableAttr.PK
    all_values.update(condition_values)
    all_values.update(values)
    for attribute, expression in sets.items():
        names[f"#{attribute}"] = attribute
        clauses.append(f"#{attribute} = {expression}")
    update = "SET " + ", ".join(clauses)
    if remove:
        names.update({f"#{attribute}": attribute for attribute in remove})
        update += " REMOVE " + ", ".join(f"#{attribute}" for attribute in remove)
    return {
        "TableName": settings.tracking_table,
        "Key": _manifest_key(),
        "ConditionExpression": condition,
        "UpdateExpression": update,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": all_values,
    }

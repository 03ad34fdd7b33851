"""The Iceberg output in the Terraform: a switch, the database, and IAM on its ARNs only."""

from __future__ import annotations

from typing import Any

from ndjson_parquet.common import GlueArg, ResourceNames
from tests.infra.terraform_config import MODULES, load_module


def _iceberg_statement() -> dict[str, Any]:
    document = load_module(MODULES / "iam").data_source("aws_iam_policy_document", "glue")
    (dynamic,) = [d for d in document.get("dynamic", []) if "statement" in d]
    content: dict[str, Any] = dynamic["statement"]["content"][0]
    assert dynamic["statement"]["for_each"] == '${var.iceberg_database_name == "" ? [] : [1]}'
    return content


def test_the_glue_role_may_use_only_the_database_and_table_of_the_output() -> None:
    statement = _iceberg_statement()
    assert set(statement["actions"]) == {
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:CreateTable",
        "glue:UpdateTable",
    }
    assert statement["resources"] == "${local.glue_catalog_arns}"
    arns = load_module(MODULES / "iam").locals["glue_catalog_arns"]
    assert [a.rsplit(":", 1)[-1] for a in arns] == [
        "catalog",
        "database/${var.iceberg_database_name}",
        "table/${var.iceberg_database_name}/${var.iceberg_table_name}",
    ]
    assert not any("*" in a for a in arns)


def test_the_output_format_switch_reaches_the_job_and_creates_the_database() -> None:
    pipeline = load_module(MODULES / "pipeline")
    assert "parquet" in str(pipeline.variables["output_format"]["validation"])
    glue = load_module(MODULES / "glue")
    text = glue.text()
    assert f'"--{GlueArg.OUTPUT_FORMAT}"' in text
    assert f'"--{GlueArg.ICEBERG_TABLE}"' in text
    database = glue.resource("aws_glue_catalog_database", "iceberg")
    assert database["count"] == "${local.iceberg ? 1 : 0}"
    assert database["location_uri"] == "${var.output_uri}"  # the warehouse


def test_the_database_name_follows_resource_names() -> None:
    pattern = load_module(MODULES / "pipeline").locals["names"]["glue_database"]
    assert pattern == '${replace(lower("${var.project}_${var.environment}"), "-", "_")}'
    assert ResourceNames("prod-eu").glue_database == "ndjson_parquet_prod_eu"
    assert ResourceNames("dev").iceberg_table == "ndjson_parquet_dev.events"

"""ndjson-parquet converter: exact, streaming NDJSON → Parquet.

from ndjson_parquet.converter import convert, ConvertOptions
summary = convert(["events.ndjson.gz"], "out/", ConvertOptions(partition_by="ts"))
"""

from ndjson_parquet.converter.conform import conform_file, conform_parquet, conform_table
from ndjson_parquet.converter.engine import convert
from ndjson_parquet.converter.errors import ConversionError, MaxErrorRateExceeded, SchemaFileError
from ndjson_parquet.converter.field_markers import is_json_text
from ndjson_parquet.converter.names import column_name, key_of
from ndjson_parquet.converter.options import ConvertOptions, Progress, Summary
from ndjson_parquet.converter.outputs import output_name, summary_location
from ndjson_parquet.converter.schema import (
    Drift,
    finalize_schema,
    load_schema,
    schema_from_json,
    schema_to_json,
    unify_schemas,
)

__version__ = "0.1.0"

__all__ = [
    "ConversionError",
    "ConvertOptions",
    "Drift",
    "MaxErrorRateExceeded",
    "Progress",
    "SchemaFileError",
    "Summary",
    "column_name",
    "conform_file",
    "conform_parquet",
    "conform_table",
    "convert",
    "finalize_schema",
    "is_json_text",
    "key_of",
    "load_schema",
    "output_name",
    "schema_from_json",
    "schema_to_json",
    "summary_location",
    "unify_schemas",
]

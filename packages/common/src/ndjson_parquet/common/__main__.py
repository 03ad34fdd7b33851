"""`python -m ndjson_parquet.common` prints the manifest's JSON Schema."""

import json

from ndjson_parquet.common.manifest import manifest_json_schema

print(json.dumps(manifest_json_schema(), indent=2))

"""`python -m ndjson_parquet.workflow render --terraform > definition.asl.json.tftpl`."""

import sys

from ndjson_parquet.workflow.cli import main

sys.exit(main())

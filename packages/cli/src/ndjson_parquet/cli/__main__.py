"""`python -m ndjson_parquet.cli`."""

import sys

from ndjson_parquet.cli.main import main

sys.exit(main())

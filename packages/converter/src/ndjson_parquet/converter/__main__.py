"""`python -m ndjson_parquet.converter SRC... --output DEST`: the converter's command line."""

import sys

from ndjson_parquet.converter.cli import main

sys.exit(main())

"""The script an AWS Glue job runs: the converter itself comes from the installed wheel.

Upload this file as the job's script (`--scriptLocation`) and pass the `ndjson-parquet-common`
and `ndjson-parquet-converter` wheels with `--additional-python-modules`. It stays tiny on
purpose: everything it does is versioned, tested code in `ndjson_parquet.converter.glue`.
"""

import logging
import sys

from ndjson_parquet.converter.glue import main

if __name__ == "__main__":
    # The job's output log (CloudWatch) shows what goes to stdout.
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # An exception here fails the job run, which the state machine retries.
    main(sys.argv)

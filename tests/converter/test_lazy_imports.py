from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_local_conversion_does_not_load_the_common_package(tmp_path: Path) -> None:
    # The common package loads pydantic (a noticeable start-up cost) and only manifests and
    # S3 locations need it.
    (tmp_path / "a.ndjson").write_bytes(b'{"a":1}\n')
    code = (
        "import sys\n"
        "from ndjson_parquet.converter import convert\n"
        f"s = convert([{str(tmp_path / 'a.ndjson')!r}], {str(tmp_path / 'out')!r})\n"
        "assert s.rows_written == 1, s\n"
        "print(sorted(m for m in sys.modules if m.startswith(('ndjson_parquet.common', 'pydantic'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"

"""The Lambda's settings, read once from the environment (names in `common.Env`)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ndjson_parquet.common.settings import Defaults, Env


class SettingsError(ValueError):
    """A missing or malformed setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the manifest builder is configured with."""

    table_name: str
    manifest_bucket: str
    manifest_prefix: str = Defaults.MANIFEST_PREFIX
    step_function_arn: str = ""
    input_prefix: str = Defaults.INPUT_PREFIX
    input_suffixes: tuple[str, ...] = Defaults.INPUT_SUFFIXES
    date_prefix_pattern: re.Pattern[str] | None = None
    max_files: int = Defaults.MAX_FILES_PER_MANIFEST
    max_bytes: int = Defaults.MAX_BYTES_PER_MANIFEST
    max_wait_seconds: int = Defaults.MAX_WAIT_SECONDS
    lock_ttl_seconds: int = Defaults.LOCK_TTL_SECONDS
    # Conversion slots: the Glue job's max_concurrent_runs (Terraform passes the same value).
    max_concurrent_runs: int = Defaults.MAX_CONCURRENT_RUNS

    def __post_init__(self) -> None:
        if not self.table_name:
            raise SettingsError(f"{Env.TRACKING_TABLE} is required")
        if not self.manifest_bucket:
            raise SettingsError(f"{Env.MANIFEST_BUCKET} is required")
        for name, value in (
            (Env.MAX_FILES_PER_MANIFEST, self.max_files),
            (Env.MAX_BYTES_PER_MANIFEST, self.max_bytes),
            (Env.LOCK_TTL_SECONDS, self.lock_ttl_seconds),
            (Env.MAX_CONCURRENT_RUNS, self.max_concurrent_runs),
        ):
            if value < 1:
                raise SettingsError(f"{name} must be at least 1, got {value}")
        if self.max_wait_seconds < 0:
            raise SettingsError(f"{Env.MAX_WAIT_SECONDS} must not be negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings; unset or empty variables take the defaults from `common.Defaults`."""
        env = os.environ if environ is None else environ

        def text(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        def number(name: str, default: int) -> int:
            raw = text(name)
            if not raw:
                return default
            try:
                return int(raw.replace("_", ""))
            except ValueError:
                raise SettingsError(f"{name} must be an integer, got {raw!r}") from None

        suffixes = tuple(s.strip() for s in text(Env.INPUT_SUFFIXES).split(",") if s.strip())
        pattern_text = text(Env.DATE_PREFIX_PATTERN)
        try:
            pattern = re.compile(pattern_text) if pattern_text else None
        except re.error as exc:
            raise SettingsError(
                f"{Env.DATE_PREFIX_PATTERN} is not a regular expression: {exc}"
            ) from None
        if pattern is not None and not (
            {"year", "month", "day"} <= set(pattern.groupindex) or "date" in pattern.groupindex
        ):
            raise SettingsError(
                f"{Env.DATE_PREFIX_PATTERN} needs named groups (?P<year>)(?P<month>)(?P<day>) "
                "or (?P<date>) holding YYYY-MM-DD"
            )
        return cls(
            table_name=text(Env.TRACKING_TABLE),
            manifest_bucket=text(Env.MANIFEST_BUCKET),
            manifest_prefix=text(Env.MANIFEST_PREFIX, Defaults.MANIFEST_PREFIX),
            step_function_arn=text(Env.STEP_FUNCTION_ARN),
            input_prefix=text(Env.INPUT_PREFIX, Defaults.INPUT_PREFIX),
            input_suffixes=suffixes or Defaults.INPUT_SUFFIXES,
            date_prefix_pattern=pattern,
            max_files=number(Env.MAX_FILES_PER_MANIFEST, Defaults.MAX_FILES_PER_MANIFEST),
            max_bytes=number(Env.MAX_BYTES_PER_MANIFEST, Defaults.MAX_BYTES_PER_MANIFEST),
            max_wait_seconds=number(Env.MAX_WAIT_SECONDS, Defaults.MAX_WAIT_SECONDS),
            lock_ttl_seconds=number(Env.LOCK_TTL_SECONDS, Defaults.LOCK_TTL_SECONDS),
            max_concurrent_runs=number(Env.MAX_CONCURRENT_RUNS, Defaults.MAX_CONCURRENT_RUNS),
        )

    def wants(self, key: str) -> bool:
        """Whether an object key is input: under the prefix and ending in an accepted suffix."""
        return key.startswith(self.input_prefix) and key.lower().endswith(self.input_suffixes)

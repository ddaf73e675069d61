"""One JSON object per log line on stderr, so a log pipeline can index the controller's output.

Messages are formatted as usual; anything passed in ``extra=`` lands as a top-level field. Git URLs
go through ``redact_url`` before a log call; every record then passes ``report.masking``'s filter,
so a secret in a message or a field (an AWS error quoting a value) is masked.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from ..report.masking import MaskingFilter

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure(level: int = logging.INFO, stream=None) -> None:
    """Replace the root handlers with one JSON handler (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "watchfiles"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))

"""A report as CSV (``section,metric,value`` rows), for spreadsheets and the authorities."""

from __future__ import annotations

import csv
import io
from typing import Any

from server.reports.report import Report


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "metric", "value"])
    for section, value in report.to_json().items():
        if isinstance(value, dict):
            for metric, inner in value.items():
                writer.writerow([section, metric, _cell(inner)])
        else:
            writer.writerow(["report", section, _cell(value)])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)

"""Reports that put checkpoints side by side: `compare` -> tidy table, wide table, plots, grids, index.html."""

from .compare import ReportResult, compare, summary_rows, wide_table
from .html import markdown_table, write_report

__all__ = ["ReportResult", "compare", "markdown_table", "summary_rows", "wide_table", "write_report"]

"""Reports that put checkpoints side by side: `compare` -> tidy table, wide table, plots, grids, index.html."""

from .compare import ReportResult, compare
from .html import markdown_table, write_report
from .sections import Section, register_section
from .tables import summary_rows, wide_table

__all__ = ["ReportResult", "Section", "compare", "markdown_table", "register_section", "summary_rows", "wide_table",
           "write_report"]

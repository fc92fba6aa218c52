"""Pure renderers: plans, comparisons, analyses and the memo as text, Markdown, JSON, CSV or a chart."""

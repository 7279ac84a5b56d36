"""Reports a centre is judged by: pure metrics (metrics.py) over facts read from the store
(facts.py), as JSON or CSV (export.py)."""

"""Settings for the whole suite.

Hypothesis's per-example deadline is a timing check: on a loaded two-core CI machine it fails
tests that are correct. Timing goals live in bench/, so the deadline is off everywhere.
"""

from hypothesis import settings

settings.register_profile("project", deadline=None)
settings.load_profile("project")

"""How urgent an alarm is: its kind's priority, raised by the resident's profile.

Priority runs from 0 (most urgent) to 9, as in SCAIP. A resident with dementia or living
alone has nobody at home to help or to explain, so the same alarm is more urgent for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def effective_priority(
    kind_priority: int, priority_groups: Iterable[str], boost: Mapping[str, int]
) -> int:
    """``kind_priority`` lowered (made more urgent) by each of the resident's groups."""
    raised = sum(boost.get(group, 0) for group in set(priority_groups))
    return max(0, min(9, kind_priority - raised))

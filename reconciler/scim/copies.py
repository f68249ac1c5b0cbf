"""The later copies of an id a listing shows more than once with different content.

Pages that overlap while the target changes, or a target that lies, can show id u1 as
bob's on one page and as alice's on the next. Kept as first seen only, alice's account
looked like an undeclared bob's, and prune disabled it while alice was planned as a
create. Every distinct copy is kept instead, so the plan sees each object the target
showed under that id and decides from none of them (core/shape.py `clashing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.core import spelling
from reconciler.core.model import Resource
from reconciler.errors import ScimProtocolError

# Distinct copies of one id past which a listing is not read on: each copy is compared
# with those kept, and a target that answers one id with ever new content is not one to
# plan from.
MAX_COPIES = 10


@dataclass
class Copies:
    endpoint: str
    by_id: dict[str, list[Resource]] = field(default_factory=dict)
    count: int = 0

    def keep(self, first: Resource, found: Resource) -> bool:
        """Keep `found`, listed again under the id of `first`, when its content differs
        from every copy kept; whether it was kept."""
        kept = self.by_id.get(found.id, [])
        # Compared as read, each name in its RFC spelling: a target that writes a name
        # another way in some resources only (not the first of a page, which the whole
        # page is respelled for) shows one account as two copies, and each was in error.
        read = spelling.resource_respelled(found).body
        if all(spelling.resource_respelled(k).body != read for k in (first, *kept)):
            if len(kept) + 1 >= MAX_COPIES:
                raise ScimProtocolError(
                    f"GET {self.endpoint}: the listing shows one id more than {MAX_COPIES} "
                    "times with different content; it cannot be planned from"
                )
            self.by_id.setdefault(found.id, []).append(found)
            self.count += 1
            return True
        return False

    def __len__(self) -> int:
        return self.count

    def all(self) -> tuple[Resource, ...]:
        return tuple(r for copies in self.by_id.values() for r in copies)

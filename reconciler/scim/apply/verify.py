"""Write verification (DESIGN §5): what the target holds after a write, compared with what
was sent, the way the plan compares (so "not kept" means "the next plan proposes it again").

Session.verify runs it after every write of attributes; what is lost is reported as a
warning that names the fix, and never retried: a target that did not keep an attribute
will not keep it the second time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.core import attributes as A
from reconciler.core.diff import AttrChange, equal
from reconciler.core.model import Json
from reconciler.core.shape import multi_valued
from reconciler.scim.paging import boolean


def lost(sent: Sequence[AttrChange], held: Mapping[str, Json], ids: Mapping[str, str]) -> list[str]:
    """The paths of `sent` whose value `held` (the resource after the write) does not hold."""
    out = []
    for change in sent:
        if change.path in A.SECRET_PATHS:
            continue  # write-only: it cannot be read back (RFC 7643 §7, returned: never)
        want = change.after if change.ref is None else (change.after or ids.get(change.ref))
        if change.ref is not None and want is None:
            continue  # a reference still waiting for its user: not sent
        have = A.read(held, change.path)
        if change.path == "active" and isinstance(have, str):
            have = boolean(have)  # as a read takes it (scim/paging.py)
        # Compared as a plan compares, so only as a plan reads it (core/shape.py): emails of
        # mixed types cannot even be sorted into a set, and hold nothing as sent.
        if multi_valued(change.path, have) is not None or not equal(change.path, want, have):
            out.append(change.path)
    return out

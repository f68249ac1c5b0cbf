"""The reads a first plan calls for, and the plan made again from them (part of steps 2
and 5): what a listing leaves out is read by id only where a plan would act on it, so a
plan that acts on nothing costs no read.

- the groups whose nested groups it manages, where the listing may hide them
  (scim/nested_reads.py);
- the members of the groups it takes away (scim/unlisted_members.py), for `protected`
  and the guards to see whom each one takes;
- the users it writes attributes to that their listing left out
  (scim/unlisted_attributes.py): planned from the listing alone, a role it hid would be
  replaced unseen.

A saved plan's apply reads the target as its plan did (`read_as_planned`), so the plan
made then to check it compares like with like.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reconciler.core.config import Spec, Target
from reconciler.core.model import Observed
from reconciler.core.plan import Plan, PlanOptions, make_plan
from reconciler.scim.client import ScimClient
from reconciler.scim.nested_reads import with_nested_read
from reconciler.scim.unlisted_attributes import with_attributes_read
from reconciler.scim.unlisted_members import with_members_read


def plan_with_reads(
    client: ScimClient, spec: Spec, target: Target, observed: Observed, options: PlanOptions,
    log: Any,
) -> tuple[Observed, Plan]:  # fmt: skip
    """The plan, made again after each read it calls for; and the observed state read."""
    plan = make_plan(spec, target, observed, options)
    nested = with_nested_read(client, target, observed, plan, log)
    if nested is not observed:
        observed = nested
        plan = make_plan(spec, target, observed, options)
    full = with_members_read(client, observed, plan.changes, log)
    full = with_attributes_read(client, full, plan.changes, target, log)
    if full is not observed:
        observed = full
        plan = make_plan(spec, target, observed, options)
    return observed, plan


def read_as_planned(
    client: ScimClient, spec: Spec, target: Target, observed: Observed, options: PlanOptions,
    saved: Plan, log: Any,
) -> Observed:  # fmt: skip
    """The observed state read as the saved plan's own read was. Its reads were chosen
    from its first plan's changes, which its final plan no longer shows where a read
    found nothing to do (a user already holding a value the listing left out): so they
    are chosen from a first plan made now, and from the saved plan's changes besides."""
    first = make_plan(spec, target, observed, options)
    nested = with_nested_read(client, target, observed, first, log)
    if nested is not observed:
        observed = nested
        first = make_plan(spec, target, observed, options)
    changes = (*saved.changes, *first.changes)
    observed = with_members_read(client, observed, changes, log)
    return with_attributes_read(client, observed, changes, target, log)


def with_write_only(observed: Observed, paths: frozenset[str]) -> Observed:
    """`observed` knowing the attributes the target's /Schemas marks write-only."""
    if not paths:
        return observed
    caps = dataclasses.replace(observed.capabilities, write_only=paths)
    return dataclasses.replace(observed, capabilities=caps)

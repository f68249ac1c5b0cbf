"""Loads a spec tree (DESIGN §2) into a validated `Spec`, reporting every problem at once."""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path

from reconciler.core import attributes as A
from reconciler.core import collector
from reconciler.core.config import Spec, Target
from reconciler.core.match import NAME_ATTRIBUTE, declared_value, normalise
from reconciler.core.model import Declared, Kind, State
from reconciler.errors import SpecError, SpecIssue, UsageError
from reconciler.spec import checked, verdict
from reconciler.spec.access import AUTH_FIELDS, AUTH_OPTIONAL  # re-exported, as below
from reconciler.spec.ahead import Ahead, Workers
from reconciler.spec.assignment import fold_all
from reconciler.spec.cache import SpecCache, cache_dir
from reconciler.spec.checks import type_name
from reconciler.spec.mapping_sources import unknown_scope_attributes, unknown_sources
from reconciler.spec.objects import ObjectRules, exact_positions
from reconciler.spec.positions import Reread
from reconciler.spec.quirks import QUIRKS  # re-exported: the vocabulary tests and docs use
from reconciler.spec.references import ReferenceRules
from reconciler.spec.source import Loaded, load_text
from reconciler.spec.targets import (  # re-exported, as QUIRKS
    TARGET_KEYS,
    TargetRules,
)
from reconciler.spec.text import Text, decode
from reconciler.spec.tree import outside_the_tree, spec_paths

__all__ = [
    "AUTH_FIELDS",
    "AUTH_OPTIONAL",
    "QUIRKS",
    "TARGET_KEYS",
    "TOP_KEYS",
    "load_spec",
    "spec_files",
]

TOP_KEYS = ("version", "targets", "users", "groups")
SUPPORTED_VERSIONS = (1,)


def spec_files(root: Path) -> list[Path]:
    """Every spec file under `root` in sorted order (or `root` itself if a file); spec/tree.py
    says which files those are. SpecError naming each entry that cannot be read, and each
    file that lies outside the tree: a spec file never goes unread without a word."""
    issues: list[SpecIssue] = []
    if root.is_file():
        found = [root]
    else:
        found, issues = spec_paths(root)
        found.sort(key=lambda p: p.relative_to(root).as_posix())
    issues += outside_the_tree(root, found)
    if issues:
        raise SpecError(issues)
    return found


def load_spec(
    root: Path,
    *,
    quick: bool = True,
    cache: SpecCache | None = None,
    workers: Workers | None = None,
) -> Spec:
    """Read and validate the spec tree at `root`; raise SpecError listing every issue.

    `quick=False` reads every file the exact way (source.load_text): the reference that
    the quick read is tested against, giving the same Spec and the same issues. `cache`
    is where quick reads are kept: by default the user's (cache.py `cache_dir`). `workers`:
    how many processes read large files at once (ahead.py), by default one per core where
    that is safe.
    """
    if not quick:
        cache, workers = SpecCache(None), Workers(1)
    elif cache is None:
        cache = SpecCache(cache_dir(), checks=checked.code_digest())
    with collector.paused():  # a spec is a tree without cycles (core/collector.py)
        return _load(root, quick, cache, workers or Workers.auto())


def clean_objects(
    cache: SpecCache, path: Path, sha256: bytes, text: Text
) -> tuple[list[Declared], list[Declared], bytes | None] | None:
    """The objects of one file read quickly, if its own checks find nothing and the checked
    cache could keep them (spec/checked.py `keepable`), kept there too; else None. What a
    worker does with a file (ahead.py). Third: the columns as marshal wrote them for the
    cache, if kept, so the worker sends them on without making them again."""
    display = path.as_posix()
    read = cache.quick_read(sha256, text, display)
    check = _Checker()
    if read is None or not check.quick_file(read, Reread(path, display, sha256, exact_positions)):
        return None
    if not checked.keepable(read, check.users, check.groups):
        return None
    kept = checked.keep(cache, sha256, len(text.raw), read, check.users, check.groups)
    return check.users, check.groups, kept


def _tree_files(root: Path) -> list[Path]:
    """The spec files of the tree at `root`; UsageError or SpecError where there are none,
    or one cannot be read or lies outside it."""
    if not root.exists():
        raise UsageError(f"no such file or directory: {root}")
    if not root.is_file() and not root.is_dir():
        raise UsageError(f"{root} is neither a directory nor a regular file")
    files = spec_files(root)
    if not files:
        raise UsageError(
            f"no *.yaml or *.yml files in {root} (outside dot-directories and node_modules)"
        )
    return files


def _load(root: Path, quick: bool, spec_cache: SpecCache, workers: Workers) -> Spec:
    files = _tree_files(root)
    check = _Checker()
    # The digest covers each file's path within the tree and its content: the same tree
    # gives the same digest however SPECS was spelled (`specs`, `./specs`, an absolute path).
    digest = hashlib.sha256()
    # The same, each file's digest of fixed length after its name: what the checks across
    # files are remembered by (spec/verdict.py), where no two trees may read alike.
    named = hashlib.sha256()
    tree = root if root.is_dir() else root.parent
    with spec_cache as cache, Ahead(files, cache, workers, clean_objects) as ahead:
        for path in files:
            display = path.as_posix()
            raw, issues = ahead.raw(path, display)
            check.issues.extend(issues)
            digest.update(path.relative_to(tree).as_posix().encode() + b"\0")
            if raw is None:
                continue
            # The quick read is enough for a file without problems; a file with any is read and
            # checked again the exact way, so its messages are the exact read's.
            if quick:
                sha256 = ahead.digest(path, raw)
                named.update(path.relative_to(tree).as_posix().encode() + b"\0" + sha256)
                reread = Reread(path, display, sha256, exact_positions)
                kept = ahead.objects(path, sha256, display, reread) or checked.read(
                    cache, sha256, len(raw), display, reread
                )
                if kept is not None:
                    # Kept only once these very bytes were read as UTF-8 and checked clean:
                    # they are not decoded again (46 MB at 100,000 users).
                    digest.update(raw)
                    check.users += kept[0]
                    check.groups += kept[1]
                    continue
            text, issues = decode(raw, display)
            check.issues.extend(issues)
            if text is None:
                continue
            digest.update(raw)
            if quick:
                read = cache.quick_read(sha256, text, display)
                first = len(check.users), len(check.groups)
                if read is not None and check.quick_file(read, reread):
                    users, groups = check.users[first[0] :], check.groups[first[1] :]
                    checked.keep(cache, sha256, len(text.raw), read, users, groups)
                    continue
            loaded, issues = load_text(text.text, display)
            check.issues.extend(issues)
            if loaded is not None:
                check.file(loaded)
        settled = quick and not check.issues and verdict.passed(cache, named.hexdigest())
        cache.prune()
    if not settled:
        _check_across(check, spec_cache, named.hexdigest() if quick else None)
    if check.issues:
        names = tuple(n for t in check.targets.values() for n in t.auth.secret_envs)
        raise SpecError(check.issues, names)
    return Spec(
        targets=check.targets,
        users=tuple(check.users),
        groups=tuple(check.groups),
        files=tuple(p.as_posix() for p in files),
        digest=digest.hexdigest(),
    )


def _check_across(check: _Checker, spec_cache: SpecCache, tree: str | None) -> None:
    """The checks across files; where they pass the tree and change no object, noted for
    the next load of that tree (`tree`: its digest; None, the exact read: not noted)."""
    # Targets too: their `assign:` and `roles:` names are resolved to declared keys.
    before = list(check.users), list(check.groups), dict(check.targets)
    check.cross_checks()
    after = check.users, check.groups, check.targets
    if tree is not None and not check.issues and after == before:
        with spec_cache as cache:
            verdict.keep(cache, tree)
            cache.prune()  # the note is an entry as well, within the cache's bound


class _Checker(TargetRules, ObjectRules, ReferenceRules):
    """Every rule, and the checks that need the whole tree: duplicates, references, cycles."""

    # -- files -----------------------------------------------------------------

    def quick_file(self, loaded: Loaded, reread: Reread) -> bool:
        """Check a file read quickly; if it has any issue, undo what it added and say so."""
        issues, users, groups = len(self.issues), len(self.users), len(self.groups)
        targets, references = set(self.targets), len(self._references)
        self._reread = reread
        try:
            self.file(loaded)
        finally:
            self._reread = None
        if len(self.issues) == issues:
            return True
        del self.issues[issues:], self.users[users:], self.groups[groups:]
        del self._references[references:]  # or the exact read's would be checked twice
        for name in set(self.targets) - targets:
            del self.targets[name]
        return False

    def file(self, loaded: Loaded) -> None:
        self._src = loaded
        doc = loaded.value
        if not isinstance(doc, dict):
            self.error((), f"a spec file must be a mapping, got {type_name(doc)}")
            return
        for key in doc:
            if key not in TOP_KEYS:
                self.unknown((), key, TOP_KEYS, "top-level key")
        version = doc.get("version", 1)
        if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
            self.error(("version",), f"unsupported spec version {doc['version']!r} (supported: 1)")
        targets = doc.get("targets")
        if targets is not None:
            if isinstance(targets, dict):
                for name, body in targets.items():
                    self.target(("targets", name), name, body)
            else:
                self.error(("targets",), "expected a mapping of target names to targets")
        for kind, method in (("users", self.user), ("groups", self.group)):
            items = doc.get(kind)
            if items is None:
                continue
            if not isinstance(items, list):
                self.error((kind,), f"expected a list, got {type_name(items)}")
                continue
            for index, item in enumerate(items):
                method((kind, index), item)

    # -- across files ---------------------------------------------------------------

    def cross_checks(self) -> None:
        users = self._unique(self.users, Kind.USER)
        groups = self._unique(self.groups, Kind.GROUP)
        # Keyed by the exact key of each user the folded map holds: a reference equal to one
        # folds to that user's entry, so either lookup finds the same user.
        by_key = {u.key: u for u in users.values()}
        # Each present user's key, by itself: members and managers hold these very strings,
        # not copies read from each group (a 100,000-user spec: about 350 B per user less).
        present = {key: key for key, user in by_key.items() if user.state is State.PRESENT}
        self.users = self._resolve_references(users, by_key)
        self.groups = self._resolve_subgroups(
            [self._resolve_members(g, users, by_key, present) for g in groups.values()]
        )
        known = {alias for t in self.targets.values() for alias in t.extensions}
        for user in self.users:
            for alias in user.extension_aliases:
                if alias not in known:
                    allowed = (*A.USER_SIMPLE, "name", "enterprise", *A.USER_MULTI, *known)
                    close = difflib.get_close_matches(alias, allowed, n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    self.error_at(
                        user,
                        alias,
                        f"unknown user attribute '{alias}'{hint}: not SCIM, and no target "
                        "declares it under extensions",
                    )
        self.check_assignments()
        for path, message, where in unknown_sources(self.targets, self.users, self.groups):
            self.error(path, message, loc=where)
        for path, message, where in unknown_scope_attributes(self.targets, self.users):
            self.error(path, message, loc=where)
        for target in self.targets.values():
            self._check_matching(target, Kind.USER, target.user_matching, self.users)
            self._check_matching(target, Kind.GROUP, target.group_matching, self.groups)
            if target.prune == "owned" and target.ownership_prefix:
                self._check_ownership(target, target.ownership_prefix)

    def _unique(self, objects: list[Declared], kind: Kind) -> dict[str, Declared]:
        """The first object of each folded key; each later one is a duplicate."""
        folded = fold_all([obj.key for obj in objects])
        found = dict(zip(folded, objects, strict=True))
        if len(found) == len(objects):
            return found  # no two keys fold alike: no duplicate, and each object its own key
        found = {}
        for obj, key in zip(objects, folded, strict=True):
            if key in found:
                first = found[key]
                self.error_at(
                    obj,
                    NAME_ATTRIBUTE[kind],
                    f"duplicate {kind.value}: '{first.key}' is already declared at "
                    f"{first.location}",
                )
            else:
                found[key] = obj
        return found

    def _check_ownership(self, target: Target, prefix: str) -> None:
        """With prune: owned, the externalId scimrec writes is what marks an object as owned."""
        for obj in (*self.users, *self.groups):
            external = obj.attrs.get("externalId")
            if obj.present and not (isinstance(external, str) and external.startswith(prefix)):
                self.error_at(
                    obj,
                    "externalId",
                    f"target '{target.name}' prunes owned objects, so externalId must start "
                    f"with '{prefix}'",
                )

    def _check_matching(
        self, target: Target, kind: Kind, matching: tuple[str, ...], objects: list[Declared]
    ) -> None:
        if not matching:
            return
        first = matching[0]
        # The key attribute's duplicates are reported as duplicate objects, above; and each
        # attribute's values are compared with its own alone: the key's are never looked at.
        compared = [attr for attr in matching if attr != NAME_ATTRIBUTE[kind]]
        seen: dict[tuple[str, str], Declared] = {}
        for obj in objects:
            value = declared_value(obj, first)
            if value is None:
                self.error_at(
                    obj,
                    first,
                    f"missing '{first}', the first matching attribute of target '{target.name}'",
                )
            for attr in compared:
                value = declared_value(obj, attr)
                if value is None:
                    continue
                # Folded as matching folds it (NFKC, invisibles dropped, trimmed): values that
                # differ only there ("E1", "E1 ") match the same target object.
                folded = (attr, normalise(attr, value))
                other = seen.get(folded)
                if other is not None and other is not obj:
                    self.error_at(
                        obj,
                        attr,
                        f"'{value}' is also the {attr} of '{other.key}'; "
                        f"target '{target.name}' matches on it",
                    )
                seen[folded] = obj

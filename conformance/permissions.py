"""What the run's API key may do, and what follows when it may not.

Flowise 3.x gives every API key a list of permissions, and every management route accepts any one of
a list (the spec's `x-flowise-permission`); a key holding none answers 403 `{"message":"Forbidden"}`.
An operator rarely holds a key with every permission: a team's key is scoped to what the team does,
a first look is taken with a view-only key. So the suite judges a target with the key it is given,
and what that key may not do is *out of its reach*: skipped with the permission named, never failed.

What the key holds is found out in two ways, the first one exact:

1. **read**: the key's own entry in `GET /apikey` (Flowise lists every key whose permissions the
   caller holds, so a key that may list keys always sees itself);
2. **learned** from answers otherwise: a JSON 2xx (or a handler's JSON 404 or 412) proves the key
   holds one of the operation's permissions (a 200 HTML page is a real Flowise's UI answering a route
   it does not have, and proves nothing), Flowise's 403 proves it holds none of them, and a 400
   `... exceed your own permissions` proves it lacks one of those it asked to grant.

A refusal never hides a defect. A 403 on an operation whose permission the key holds (read, or
proven by another operation's success) is a contradiction, reported as the failed check
`permission_is_honoured`; a success on an operation the key cannot hold is one too
(`permission_is_enforced`). A contradiction found only later in the run (the success came after the
refusal) is reported at the end.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from conformance.exchange import Exchange
from conformance.spec import Operation, SpecIndex

__all__ = [
    "EXCEEDS",
    "Contradiction",
    "KeyPermissions",
    "OutOfReach",
    "Reach",
    "is_forbidden",
    "is_json",
    "own_permissions",
]

#: What Flowise answers (400) to a key asked to grant more than it holds.
EXCEEDS = "exceed your own permissions"
#: The operations that grant permissions (their body's `permissions`).
GRANTING = frozenset({"createApiKey", "updateApiKey"})
#: Answers only a handler gives, after the permission check passed, when the operation looks an id up
#: (the gate answers 401, the check 403; a 400 or 413 may come from the body parser before either,
#: and a 404 on a collection says the route is missing, so they prove nothing).
PAST_THE_CHECK = frozenset({404, 412})
HONOURED = "permission_is_honoured"
ENFORCED = "permission_is_enforced"


class Reach(StrEnum):
    FREE = "free"  # the operation needs no permission
    HELD = "held"  # the key holds one of its permissions
    LACKING = "lacking"  # the key holds none of them
    UNKNOWN = "unknown"


class OutOfReach(Exception):
    """The operation needs a permission this key lacks: the check that needed it is skipped, named."""

    def __init__(self, operation: str, permissions: Iterable[str], how: str) -> None:
        self.operation = operation
        self.permissions = tuple(sorted(permissions))
        self.how = how
        super().__init__(f"out of this key's reach: {operation} needs {_one_of(self.permissions)} ({how})")


@dataclass(frozen=True, slots=True)
class Contradiction:
    """A refusal (or an acceptance) the key's permissions do not explain: a defect of the target."""

    check: str
    operation: str
    message: str
    exchange: Exchange | None = None


@dataclass(slots=True)
class _Refusal:
    operation: str
    permissions: frozenset[str]
    exchange: Exchange | None
    how: str
    contradicted: bool = False


@dataclass(slots=True)
class _Tally:
    answered: int = 0
    refused: int = 0


def _one_of(permissions: Iterable[str]) -> str:
    names = sorted(permissions)
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def is_json(body: bytes | str | None) -> bool:
    """Flowise's API answers JSON; a 200 HTML page is its UI catch-all (an unmatched route), not a handler."""
    try:
        json.loads(body or b"")
    except (ValueError, TypeError):
        return False
    return True


def is_forbidden(status: int, body: bytes | str | None) -> bool:
    """Flowise's permission refusal: 403 with exactly `{"message":"Forbidden"}`."""
    if status != 403:
        return False
    try:
        return json.loads(body or b"null") == {"message": "Forbidden"}
    except (ValueError, TypeError):
        return False


def exceeds_message(status: int, body: bytes | str | None) -> bool:
    """Flowise's 400 for a key asked to grant a permission the caller lacks."""
    if status != 400:
        return False
    try:
        data = json.loads(body or b"null")
    except (ValueError, TypeError):
        return False
    return isinstance(data, dict) and EXCEEDS in str(data.get("message", ""))


def own_permissions(items: Any, key: str) -> frozenset[str] | None:
    """The permissions of `key`'s own entry in a `GET /apikey` answer (a list or a `{data}` page).

    A real Flowise lists the plain key; flowise-mock stores only hashes and lists a preview
    (`abcd...wxyz`), which is accepted when exactly one entry matches it.
    """
    if isinstance(items, dict):
        items = items.get("data")
    if not isinstance(items, list):
        return None
    entries = [item for item in items if isinstance(item, dict)]
    exact = [item for item in entries if item.get("apiKey") == key]
    preview = f"{key[:4]}...{key[-4:]}"
    previews = [item for item in entries if item.get("apiKey") == preview]
    found = exact[0] if len(exact) == 1 else previews[0] if not exact and len(previews) == 1 else None
    if found is None:
        return None
    permissions = found.get("permissions")
    if isinstance(permissions, str):
        try:
            permissions = json.loads(permissions)
        except ValueError:
            return None
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        return None
    return frozenset(permissions)


class KeyPermissions:
    """What the run knows of its key's permissions, and the evidence it gathered (thread-safe)."""

    def __init__(self, spec: SpecIndex, *, held: Iterable[str] | None = None, source: str = "") -> None:
        self.spec = spec
        self.held: frozenset[str] | None = None if held is None else frozenset(held)
        self.source = source or ("given" if held is not None else "not read")
        #: Permissions proven held one by one, and proven lacking.
        self.granted: set[str] = set()
        self.denied: set[str] = set()
        #: Any-of sets proven held (an operation answered 2xx), with the first operation that proved it.
        self.proven: dict[frozenset[str], str] = {}
        self.refusals: dict[str, _Refusal] = {}
        self.contradictions: list[Contradiction] = []
        self.tallies: dict[str, _Tally] = {}
        #: Contradictions a check already reported as its own failure (by position in `contradictions`).
        self._reported: set[int] = set()
        self._lock = threading.RLock()
        self._routes: list[tuple[re.Pattern[str], str, Operation]] = []
        templates = sorted(spec, key=lambda op: (op.path.count("{"), -len(op.path)))
        for operation in templates:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(operation.path))
            self._routes.append((re.compile(f"^{pattern}/?$"), operation.method, operation))

    # -- what the key may do -------------------------------------------------------------------------

    @property
    def exact(self) -> bool:
        return self.held is not None

    def operation_for(self, method: str, path: str) -> Operation | None:
        """The spec operation a request goes to (`path` relative to `/api/v1`, or starting with it)."""
        path = path.split("?", 1)[0]
        if "/api/v1/" in path:
            path = path[path.index("/api/v1/") + len("/api/v1"):]
        method = "GET" if method.upper() == "HEAD" else method.upper()
        for regex, verb, operation in self._routes:
            if verb == method and regex.match(path):
                return operation
        return None

    def _operation(self, operation: Operation | str) -> Operation | None:
        return self.spec.get(operation) if isinstance(operation, str) else operation

    def reach(self, operation: Operation | str) -> Reach:
        op = self._operation(operation)
        if op is None or not op.permissions or not op.needs_key:
            return Reach.FREE
        needed = frozenset(op.permissions)
        with self._lock:
            if self.held is not None:
                return Reach.HELD if needed & self.held else Reach.LACKING
            if needed & self.granted or any(proven <= needed for proven in self.proven):
                return Reach.HELD
            if needed <= self.denied:
                return Reach.LACKING
            return Reach.UNKNOWN

    def holds(self, permission: str) -> bool | None:
        with self._lock:
            if self.held is not None:
                return permission in self.held
            if permission in self.granted:
                return True
            return False if permission in self.denied else None

    def grantable(self, *, avoiding: Iterable[str] = ()) -> list[str]:
        """Permissions the key is known to hold (so it may grant them to a new key), minus `avoiding`."""
        avoid = set(avoiding)
        with self._lock:
            known = self.held if self.held is not None else frozenset(self.granted)
        return sorted(permission for permission in known if permission not in avoid)

    def why(self, operation: Operation | str) -> str:
        op = self._operation(operation)
        if op is None:
            return str(operation)
        return f"{op.operation_id} needs {_one_of(op.permissions)}"

    def out_of_reach(self, operation: Operation | str, how: str = "") -> OutOfReach:
        op = self._operation(operation)
        assert op is not None
        if not how:
            with self._lock:
                refusal = self.refusals.get(op.operation_id)
            how = refusal.how if refusal else ("the key's permissions do not include it" if self.exact
                                              else "the target refused these permissions to this key earlier")
        return OutOfReach(op.operation_id, op.permissions, how)

    def check(self, operation: Operation | None) -> None:
        """Raise `OutOfReach` for an operation the key is known to lack (nothing is sent then)."""
        if operation is not None and self.reach(operation) is Reach.LACKING:
            raise self.out_of_reach(operation)

    # -- evidence ------------------------------------------------------------------------------------

    def observe(
        self,
        operation: Operation | None,
        status: int,
        body: bytes | str | None,
        exchange: Exchange | None = None,
        *,
        requested: Iterable[str] | None = None,
    ) -> tuple[bool, Contradiction | None]:
        """Take one answer the target gave to this key; returns (refused for want of a permission,
        the contradiction it revealed if any)."""
        if operation is None or not operation.permissions or not operation.needs_key:
            return False, None
        op_id = operation.operation_id
        needed = frozenset(operation.permissions)
        with self._lock:
            tally = self.tallies.setdefault(op_id, _Tally())
            tally.answered += 1
            if is_forbidden(status, body):
                tally.refused += 1
                return True, self._refused(op_id, needed, exchange, "the target answered 403 Forbidden")
            if op_id in GRANTING and exceeds_message(status, body) and requested is not None:
                asked = frozenset(p for p in requested if isinstance(p, str))
                tally.refused += 1
                return True, self._exceeded(op_id, asked, exchange)
            passed = 200 <= status < 300 or (status in PAST_THE_CHECK and operation.path_params)
            if passed and is_json(body):
                return False, self._allowed(op_id, needed, exchange)
            return False, None

    def passed(self, operation: Operation, exchange: Exchange | None = None) -> Contradiction | None:
        """The target answered past its permission check (its handler answered, whatever it said)."""
        if not operation.permissions or not operation.needs_key:
            return None
        with self._lock:
            return self._allowed(operation.operation_id, frozenset(operation.permissions), exchange)

    def _contradict(self, check: str, operation: str, message: str, exchange: Exchange | None) -> Contradiction:
        found = Contradiction(check, operation, message, exchange)
        self.contradictions.append(found)
        return found

    def _refused(self, op_id: str, needed: frozenset[str], exchange: Exchange | None, how: str) -> Contradiction | None:
        if self.held is not None:
            holding = sorted(needed & self.held)
            if holding:
                return self._contradict(
                    HONOURED, op_id,
                    f"403 Forbidden although the key holds {', '.join(holding)} ({self.source})", exchange)
        else:
            proof = next((proven for proven in self.proven if proven <= needed), None)
            if proof is None and needed & self.granted:
                proof = next(proven for proven in self.proven if proven & needed & self.granted)
            if proof is not None:
                return self._contradict(
                    HONOURED, op_id,
                    f"403 Forbidden although the key holds {_one_of(proof)} ({self.proven[proof]} answered it)",
                    exchange)
            self.denied |= needed
        self.refusals.setdefault(op_id, _Refusal(op_id, needed, exchange, how))
        return None

    def _exceeded(self, op_id: str, asked: frozenset[str], exchange: Exchange | None) -> Contradiction | None:
        how = f"the target refused to let it grant {', '.join(sorted(asked))}"
        if self.held is not None:
            if asked and asked <= self.held:
                return self._contradict(
                    HONOURED, op_id, f"400 '{EXCEEDS}' although the key holds every permission asked for "
                    f"({', '.join(sorted(asked))})", exchange)
            return None
        unknown = asked - self.granted
        if not unknown and asked:
            return self._contradict(
                HONOURED, op_id, f"400 '{EXCEEDS}' although the key was proven to hold {', '.join(sorted(asked))}",
                exchange)
        if len(unknown) == 1:
            self.denied |= unknown
        self.refusals.setdefault(f"{op_id}:{','.join(sorted(asked))}", _Refusal(op_id, asked, exchange, how))
        return None

    def _allowed(self, op_id: str, needed: frozenset[str], exchange: Exchange | None) -> Contradiction | None:
        if self.held is not None:
            if not needed & self.held:
                return self._contradict(
                    ENFORCED, op_id, f"answered past the permission check although the key holds none of "
                    f"{', '.join(sorted(needed))} ({self.source})", exchange)
            return None
        first = needed not in self.proven
        self.proven.setdefault(needed, op_id)
        if len(needed) == 1:
            self.granted |= needed
        if not first:
            return None
        open_refusals = [r for r in self.refusals.values() if not r.contradicted and r.operation not in GRANTING]
        wrong = [r for r in open_refusals if needed <= r.permissions]
        if not wrong and needed <= self.denied:
            # The key holds one of `needed`, and each of them was refused somewhere: one of those is wrong.
            wrong = [r for r in open_refusals if r.permissions & needed]
        for refusal in wrong:
            refusal.contradicted = True
        if wrong:
            names = ", ".join(sorted({r.operation for r in wrong}))
            return self._contradict(
                HONOURED, wrong[0].operation,
                f"403 Forbidden ({names}) although the key holds {_one_of(needed)} ({op_id} answered it)",
                wrong[0].exchange)
        return None

    # -- for the reports -----------------------------------------------------------------------------

    def mark_reported(self, found: Contradiction) -> None:
        with self._lock:
            self._reported.update(i for i, c in enumerate(self.contradictions) if c is found)

    def unreported(self) -> list[Contradiction]:
        """Contradictions no check has reported yet (then marked as reported)."""
        with self._lock:
            fresh = [i for i in range(len(self.contradictions)) if i not in self._reported]
            self._reported.update(fresh)
            return [self.contradictions[i] for i in fresh]

    def refused_operations(self) -> dict[str, str]:
        """Operation → why it was out of reach, for every operation that got a refusal not contradicted."""
        with self._lock:
            return {r.operation: f"{self.why(r.operation)} ({r.how})" for r in self.refusals.values()
                    if not r.contradicted}

    def kept_out(self) -> dict[str, str]:
        """Every spec operation out of this key's reach (known lacking, or refused during the run)."""
        result = {op.operation_id: self.why(op) for op in self.spec if self.reach(op) is Reach.LACKING}
        result.update(self.refused_operations())
        return dict(sorted(result.items()))

    def assumed(self) -> str:
        """The permissions the run assumed, in one line."""
        with self._lock:
            if self.held is not None:
                return f"{len(self.held)} permissions, {self.source}: {', '.join(sorted(self.held)) or '(none)'}"
            held = ", ".join(sorted(self.granted)) or "(none singly)"
            sets = "; ".join(_one_of(s) for s in sorted(self.proven, key=sorted) if len(s) > 1)
            lacking = ", ".join(sorted(self.denied)) or "(none)"
            text = f"unknown ({self.source}); learned from answers: holds {held}"
            if sets:
                text += f"; holds {sets}"
            return text + f"; lacks {lacking}"

    def notes(self) -> dict[str, object]:
        kept = self.kept_out()
        return {
            "key permissions": self.assumed(),
            "out of this key's reach": "; ".join(kept.values()) or "nothing",
        }

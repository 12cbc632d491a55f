from __future__ import annotations

import ast
from pathlib import Path

import pytest

import load
from load.profiles import PROFILES, USER_CLASSES, Profile
from load.slo import SloSet

LOAD = Path(load.__file__).parent


def test_public_names() -> None:
    assert sorted(load.__all__) == ["PROFILES", "Profile", "SloSet", "Threshold", "evaluate"]


def test_profiles_named_in_the_issue_exist() -> None:
    assert {"chat", "rag", "mixed", "smoke", "soak"} <= set(PROFILES)
    assert PROFILES["rag"].weights == {"RagUser": 1}
    assert PROFILES["chat"].streams and not PROFILES["rag"].streams


def test_user_class_names_match_the_locustfile() -> None:
    # Checked on the source, so the test process never imports locust (which gevent-patches it).
    tree = ast.parse((LOAD / "users" / "__init__.py").read_text())
    exported = next(node for node in tree.body if isinstance(node, ast.Assign)).value
    assert sorted(ast.literal_eval(exported)) == sorted(USER_CLASSES)


def test_a_profile_with_an_unknown_user_class_is_refused() -> None:
    with pytest.raises(ValueError, match="bad user weights"):
        Profile("x", "", {"NoSuchUser": 1}, users=1, spawn_rate=1, duration_s=1, think_time=(0, 0),
                slos=SloSet((), max_error_rate=0))


def test_nothing_outside_the_locust_side_imports_locust() -> None:
    locust_side = {"locustfile.py", "sse_client.py"}
    for path in LOAD.rglob("*.py"):
        relative = path.relative_to(LOAD)
        if relative.parts[0] == "users" or relative.name in locust_side:
            continue
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name.split(".")[0] in ("locust", "gevent") for name in imported), relative

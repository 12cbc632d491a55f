"""The headless bootstrap against a fake Flowise that keeps cookies and keys as the real one does."""

from __future__ import annotations

import re

import httpx
import pytest
from fake_flowise import FakeFlowise

from conformance.reference.bootstrap import (
    FULL_PERMISSIONS,
    VIEW_PERMISSIONS,
    Admin,
    BootstrapError,
    SessionClient,
    bootstrap,
    create_api_key,
    strong_password,
)


def test_strong_password_meets_flowise_rules() -> None:
    for _ in range(50):
        password = strong_password()
        assert len(password) >= 8
        assert re.search("[a-z]", password) and re.search("[A-Z]", password)
        assert re.search(r"\d", password) and re.search(r"[^A-Za-z0-9]", password)


def test_full_permissions_hold_no_workspace_or_admin_permission() -> None:
    assert not [p for p in FULL_PERMISSIONS if p.startswith(("workspace:", "admin:"))]
    assert len(set(FULL_PERMISSIONS)) == len(FULL_PERMISSIONS)
    assert {"chatflows:view", "apikeys:create", "credentials:create"} <= set(FULL_PERMISSIONS)


def test_bootstrap_registers_logs_in_and_creates_both_keys(fake: FakeFlowise) -> None:
    done = bootstrap(fake.url)

    assert done.full_key.key_name == "conformance-full"
    assert done.view_key.permissions == VIEW_PERMISSIONS
    assert set(done.full_key.permissions) == set(FULL_PERMISSIONS)
    stored = {key["keyName"]: key for key in fake.state.keys}
    assert stored["conformance-full"]["apiKey"] == done.full_key.api_key
    assert stored["conformance-viewonly"]["id"] == done.view_key.id
    key_calls = [r for r in fake.state.requests if r.path == "/api/v1/apikey"]
    assert len(key_calls) == 2
    for call in key_calls:
        assert call.headers["x-request-from"] == "internal"
        assert {"token=", "refreshToken=", "connect.sid="} <= {part.split("=")[0] + "=" for part in call.headers["cookie"].split("; ")}


def test_new_key_is_usable_as_bearer(fake: FakeFlowise) -> None:
    done = bootstrap(fake.url)
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {done.full_key.api_key}"}) as client:
        again = create_api_key(client, "another", VIEW_PERMISSIONS)
    assert again.key_name == "another"
    assert len(fake.state.keys) == 3


def test_second_bootstrap_logs_in_to_the_existing_account(fake: FakeFlowise) -> None:
    admin = Admin()
    bootstrap(fake.url, admin=admin)
    second = bootstrap(fake.url, admin=admin, full_name="second-full", view_name="second-view")
    assert second.full_key.key_name == "second-full"
    registers = [r for r in fake.state.requests if r.path.endswith("/account/register")]
    assert len(registers) == 2  # the second answered "only one organization" and was accepted


def test_wrong_password_is_an_error_naming_the_step(fake: FakeFlowise) -> None:
    bootstrap(fake.url, admin=Admin(password="Right-pass-1!"))
    with pytest.raises(BootstrapError, match="logging in.*401"):
        bootstrap(fake.url, admin=Admin(password="Wrong-pass-1!"))


def test_key_creation_without_the_internal_header_is_refused(fake: FakeFlowise) -> None:
    admin = Admin()
    with SessionClient(fake.url) as session:
        session.register(admin)
        session.login(admin)
        with pytest.raises(BootstrapError, match="401"):
            create_api_key(session.http, "no-header", VIEW_PERMISSIONS)
        assert session.create_api_key("with-header", VIEW_PERMISSIONS).key_name == "with-header"


def test_picks_the_newest_key_of_that_name(fake: FakeFlowise) -> None:
    admin = Admin()
    with SessionClient(fake.url) as session:
        session.register(admin)
        session.login(admin)
        first = session.create_api_key("same", VIEW_PERMISSIONS)
        second = session.create_api_key("same", VIEW_PERMISSIONS)
    assert first.id != second.id
    assert second.api_key == fake.state.keys[-1]["apiKey"]

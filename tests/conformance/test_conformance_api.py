"""The package's public surface is exactly what `conformance.__all__` lists."""

from __future__ import annotations

import conformance


def test_public_names() -> None:
    public = {name for name in dir(conformance) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(conformance, name)).__name__ == "module"}
    assert public - modules - {"annotations"} == set(conformance.__all__)
    assert sorted(conformance.__all__) == conformance.__all__

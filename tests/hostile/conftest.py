"""Hostile-input tests: what they try is counted (see :mod:`tests.hostile.figures`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile import figures


@pytest.fixture(autouse=True)
def _save_figures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    figures.save(tmp_path_factory.getbasetemp())

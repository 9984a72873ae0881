"""Every docstring example in the package runs and shows what it claims."""

import doctest
import importlib
import pkgutil

import pytest

import replicalab

MODULES = ["replicalab", *sorted(
    m.name for m in pkgutil.walk_packages(replicalab.__path__, prefix="replicalab.")
    if not m.name.endswith("__main__")
)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_module_has_a_docstring():
    missing = [name for name in MODULES if not importlib.import_module(name).__doc__]
    assert missing == []

"""Every ```python block in the tutorials runs under pytest (Sybil), one namespace per page.

Blocks written as ``>>>`` sessions have their shown output checked; plain
blocks must simply run (they usually end with an ``assert`` on what the page
claims). The test in tests/test_tutorials.py fails if a page holds a python
block that this parser would not run.
"""

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["*.md"],
).pytest()

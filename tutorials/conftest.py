"""Every code block in the tutorials runs under pytest (Sybil), one namespace per page.

Interactive sessions are fenced as ```pycon, so the site styles their output as
output and the copy button copies only the code; their shown output is checked
like a doctest. Plain ```python blocks must simply run (they usually end with an
``assert`` on what the page claims). tests/test_tutorials.py fails if a page
holds a python or pycon block that these parsers would not run.
"""

from sybil import Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser


class PyconParser:
    """```pycon blocks: a ``>>>`` session whose output must match, as a doctest."""

    def __init__(self) -> None:
        self.blocks = CodeBlockParser("pycon")
        self.doctest = DocTestStringParser(DocTestEvaluator())

    def __call__(self, document):
        for region in self.blocks(document):
            source = region.parsed
            for example in self.doctest(source, document.path):
                example.adjust(region, source)
                yield example


def parsers():
    return [PythonCodeBlockParser(), PyconParser(), SkipParser()]


pytest_collect_file = Sybil(parsers=parsers(), patterns=["*.md"]).pytest()

"""Reading the SVG files viz.figures writes (matplotlib's SVG, with our ids), for the tests.

matplotlib writes every text twice over: as paths (the glyphs) and as an XML comment with the string itself
(escaped: unescaped here);
every series is a group ``series-N`` (a line) or ``points-N`` (a scatter), every bar ``bar-N``; a heatmap is an
``<image>`` with the id ``heatmap`` (one head) or ``map-L-H`` (a grid).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import unescape

NS = "{http://www.w3.org/2000/svg}"


def parse(path):
    """The root element, comments kept (they hold the texts)."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.parse(path, parser=parser).getroot()
    assert root.tag == f"{NS}svg", root.tag
    return root


def groups(root, prefix):
    """The groups whose id starts with ``prefix`` (e.g. "series-"), in document order."""
    return [g for g in root.iter(f"{NS}g") if g.get("id", "").startswith(prefix)]


def images(root, prefix):
    """The raster images (heatmaps) whose id starts with ``prefix``."""
    return [e for e in root.iter(f"{NS}image") if e.get("id", "").startswith(prefix)]


def lines(root):
    return groups(root, "series-")


def markers(root):
    """How many markers (points) the series and scatters draw."""
    return sum(len(list(g.iter(f"{NS}use"))) for g in lines(root) + groups(root, "points-"))


def texts(root):
    """Every text in the figure, in order."""
    return [unescape(c.text.strip()) for c in root.iter() if c.tag is ET.Comment and c.text]


def legend(root):
    """The names in the legend, in order."""
    g = next((g for g in root.iter(f"{NS}g") if g.get("id", "").startswith("legend_")), None)
    assert g is not None, "the figure has no legend"
    return [unescape(c.text.strip()) for c in g.iter() if c.tag is ET.Comment and c.text]

"""On a phone, a project's reference and a deadline's time are never split across two lines."""
import pytest

from .conftest import new_context

pytestmark = pytest.mark.browser

# The lines (distinct tops) on which the first occurrence of ``text`` inside ``selector`` is drawn; null if absent.
LINES_OF = """([selector, text]) => {
  const root = document.querySelector(selector);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let whole = "";
  while (walker.nextNode()) { nodes.push([walker.currentNode, whole.length]); whole += walker.currentNode.data; }
  const start = whole.indexOf(text), end = start + text.length;
  if (start < 0) return null;
  const range = document.createRange();
  for (const [node, offset] of nodes) {
    if (offset <= start && start < offset + node.data.length) range.setStart(node, start - offset);
    if (offset < end && end <= offset + node.data.length) range.setEnd(node, end - offset);
  }
  return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size;
}"""


def test_a_reference_and_a_time_stay_on_one_line_at_360px(site, browser):
    context = new_context(browser, viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.goto(site.link("CLAS-73-002"))  # "Centre social du Biollay – projet CLAS-73-002 – …" wraps at the reference
    try:
        assert page.evaluate(LINES_OF, [".context", "CLAS-73-002"]) == 1
        deadline = page.locator("dt", has_text="Date limite de transmission").locator("xpath=following-sibling::dd[1]")
        time = "23\u00a0h\u00a059"  # written with no-break spaces, as French keeps a time whole
        assert time in deadline.inner_text() and page.evaluate(LINES_OF, ["main dl", time]) == 1
    finally:
        context.close()

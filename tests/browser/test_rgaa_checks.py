"""RGAA checks axe does not make: a focus ring of 3:1 on its background (10.7), column names kept at 320 px (10.11)."""
import pytest

from .conftest import new_context, sign_in

pytestmark = pytest.mark.browser

# For the focused element: its outline's and halo's colours, and the colour behind it (first opaque ancestor).
FOCUS_COLOURS = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  let bg = null;
  for (let node = el; node && !bg; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour && !colour.endsWith(", 0)") && colour !== "transparent") bg = colour;
  }
  const halo = (style.boxShadow.match(/rgba?\\([^)]*\\)/) || [null])[0];
  return {tag: el.tagName, text: (el.textContent || el.name || "").trim().slice(0, 40), outline: style.outlineColor,
          width: parseFloat(style.outlineWidth), outlineStyle: style.outlineStyle, halo, bg: bg || "rgb(255, 255, 255)"};
}"""


def _rgb(text):
    parts = [float(x) for x in text[text.index("(") + 1:text.index(")")].split(",")[:3]]
    return parts


def _luminance(rgb):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    high, low = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_focus_ring_shows_at_3_to_1_on_its_background(site, browser):
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, site, site.reviewer)
    checked = 0
    for path in ("/caf/", "/mentions-legales"):
        page.goto(site.url(path))
        for _ in range(12):
            page.keyboard.press("Tab")
            seen = page.evaluate(FOCUS_COLOURS)
            if seen["tag"] == "BODY":
                break
            assert seen["outlineStyle"] != "none" and seen["width"] >= 2, seen
            best = max(contrast(seen["outline"], seen["bg"]), contrast(seen["halo"], seen["bg"]) if seen["halo"] else 0)
            assert best >= 3, f"{path}: focus on {seen} shows at {best:.2f}:1"
            checked += 1
    context.close()
    assert checked >= 10


def test_at_320_px_each_value_of_a_stacked_table_keeps_its_column_name(site, browser):
    context = new_context(browser, viewport={"width": 320, "height": 800})
    page = context.new_page()
    sign_in(page, site, site.reviewer)
    page.get_by_role("link", name="Clas 2023-2024 : bilan qualitatif", exact=True).click()
    cells = page.locator("table.projects tbody tr").first.locator("td")
    assert cells.count() >= 4
    for index in range(cells.count()):
        cell = cells.nth(index)
        if cell.inner_text().strip():
            label = cell.locator(".cell-label")
            assert label.count() == 1 and label.is_visible(), cell.inner_text()
    context.close()

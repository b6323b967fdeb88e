"""Accessibility checks of the page a browser shows: axe-core (WCAG 2.1 A and AA) and reflow at 360 px
(no sideways scrolling of the page, no word broken by a squeezed column)."""
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
NARROW = 360
# The elements sticking out on the right, deepest first: what makes a page scroll sideways.
OVERFLOWING = """(width) => Array.from(document.querySelectorAll("body *"))
  .filter(el => el.getBoundingClientRect().right > width + 0.5 && el.getClientRects().length)
  .filter(el => !Array.from(el.children).some(child => child.getBoundingClientRect().right > width + 0.5))
  .slice(0, 8)
  .map(el => `<${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className && typeof el.className === "string"
    ? "." + el.className.trim().split(/\\s+/).join(".") : ""}> right=${Math.round(el.getBoundingClientRect().right)}px`)"""

# Words (up to 25 letters: not an email or a URL) that the layout breaks across two lines: the sign
# of a column squeezed narrower than its words, which scrollWidth alone does not reveal.
BROKEN_WORDS = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node && found.length < 8; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || !parent.checkVisibility({visibilityProperty: true})) continue;
    let clipped = false;  // inside a visually hidden block (1 px wide), or a closed <details>
    for (let el = parent; el && !clipped; el = el.parentElement) clipped = el.getBoundingClientRect().width <= 1;
    if (clipped) continue;
    for (const match of node.data.matchAll(/[^\\s\\-\\/]{2,25}/g)) {
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) {
        found.push(`«${match[0]}» in <${parent.tagName.toLowerCase()}${parent.className ? "." + parent.className : ""}>`);
        break;
      }
    }
  }
  return found;
}"""

# Tables whose wrapper scrolls sideways: the page itself does not, but a reader on a phone must still swipe
# within the table to see its last columns. RGAA 10.11 allows it only for what must be read in two dimensions:
# the blank questionnaire's grids and the dashboard's cross tables (answers by option, Cafs by state).
TWO_DIMENSIONAL = ["blank-grid", "stacked", "cafs"]
SCROLLING_TABLES = """(allowed) => Array.from(document.querySelectorAll(".table-wrap"))
  .filter(el => el.checkVisibility() && el.scrollWidth > el.clientWidth + 1)
  .filter(el => !allowed.some(name => el.querySelector("table")?.classList.contains(name)))
  .map(el => `<table${(t => t && t.className ? "." + t.className.trim().split(/\\s+/).join(".") : "")(el.querySelector("table"))}>`
    + ` ${el.scrollWidth}px in ${el.clientWidth}px`)"""

# RGAA 10.11: where a table is stacked (class "stacks"), each value shows its column's name (a .cell-label);
# a button alone in its cell needs none.
UNLABELLED_STACKED_CELLS = """() => Array.from(document.querySelectorAll("table.stacks tbody td"))
  .filter(td => td.checkVisibility() && td.innerText.trim()
          // an action cell (a button alone) names itself
          && td.innerText.trim() !== Array.from(td.querySelectorAll("button")).map(b => b.innerText.trim()).join(" ").trim()
          && !Array.from(td.querySelectorAll(".cell-label")).some(label => label.checkVisibility()))
  .slice(0, 5).map(td => `<table.${td.closest("table").className.trim().split(/\\s+/).join(".")}> ${td.innerText.trim().slice(0, 40)}`)"""

_axe = None


def axe_violations(page) -> list[dict]:
    """axe-core's violations of WCAG 2.0/2.1 A and AA on the page as it is now."""
    global _axe
    if _axe is None:
        from axe_playwright_python.sync_playwright import Axe
        _axe = Axe()
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    return _axe.run(page, options=options).response["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
        for node in violation["nodes"][:10]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines.extend(f"      {line}" for line in (node.get("failureSummary") or "").splitlines()[1:])
    return "\n".join(lines)


def check_page(page, name: str) -> list[str]:
    """Both checks on the current page, at its width and at 360 px; returns the problems found."""
    problems = []
    violations = axe_violations(page)
    if violations:
        problems.append(f"{name} ({page.url}): {len(violations)} axe violation(s) of WCAG 2.1 A/AA:\n{describe(violations)}")
    before = page.viewport_size
    page.set_viewport_size({"width": NARROW, "height": before["height"] if before else 800})
    try:
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll_width > NARROW:
            culprits = page.evaluate(OVERFLOWING, NARROW)
            problems.append(f"{name} ({page.url}): scrolls sideways at {NARROW} px (scrollWidth {scroll_width}); "
                            f"sticking out: {', '.join(culprits) or '?'}")
        scrolling = page.evaluate(SCROLLING_TABLES, TWO_DIMENSIONAL)
        if scrolling:
            problems.append(f"{name} ({page.url}): at {NARROW} px, tables scroll sideways: {', '.join(scrolling)}")
        unlabelled = page.evaluate(UNLABELLED_STACKED_CELLS)
        if unlabelled:
            problems.append(f"{name} ({page.url}): at {NARROW} px, stacked values without their column's name: "
                            + "; ".join(unlabelled))
        broken = page.evaluate(BROKEN_WORDS)
        if broken:
            problems.append(f"{name} ({page.url}): at {NARROW} px, words are broken across lines (a squeezed column): "
                            + "; ".join(broken))
        violations = axe_violations(page)
        if violations:
            problems.append(f"{name} ({page.url}) at {NARROW} px: {len(violations)} axe violation(s) of WCAG 2.1 "
                            f"A/AA:\n{describe(violations)}")
    finally:
        if before:
            page.set_viewport_size(before)
    return problems


def assert_accessible(page, name: str):
    problems = check_page(page, name)
    assert not problems, "\n\n".join(problems)

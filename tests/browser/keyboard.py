"""A partner without a mouse: every field is reached with Tab / Shift+Tab, never focused by script.

``tab_to`` presses Tab (or Shift+Tab when the target lies before the focus)
until ``document.activeElement`` is the wanted element, and fails after
``limit`` presses: reaching a field this way proves it is reachable by keyboard.
"""
from collections import Counter

from .questionnaire import Field, assert_no_errors, save_button

# Every key pressed through these helpers, to show which moves a journey needed.
pressed = Counter()

DESCRIBE_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "<body>";
  const text = (el.innerText || el.value || "").trim().slice(0, 60);
  return `<${el.tagName.toLowerCase()}${el.id ? " id=" + el.id : ""}${el.name ? " name=" + el.name : ""}`
    + `${el.type ? " type=" + el.type : ""}> ${text}`;
}"""
# Whether the target comes before the focused element in the document: then Shift+Tab.
TARGET_IS_BEFORE = """([target, name]) => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  if (!target) target = document.querySelector(`[name="${name}"]`);
  return Boolean(el.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_PRECEDING);
}"""


def hit(page, key: str):
    pressed[key] += 1
    page.keyboard.press(key)


def focused(page) -> str:
    return page.evaluate(DESCRIBE_FOCUS)


def _tab_until(page, is_there, arg, what: str, limit: int) -> int:
    backwards = page.evaluate(TARGET_IS_BEFORE, arg)
    key = "Shift+Tab" if backwards else "Tab"
    for presses in range(limit + 1):
        if page.evaluate(is_there, arg):
            return presses
        if presses < limit:
            hit(page, key)
    raise AssertionError(f"{what} not reached after {limit} presses of {key}; the focus is on {focused(page)}")


def tab_to(page, locator, limit: int = 40) -> int:
    """Move the focus to ``locator``'s element with Tab / Shift+Tab; returns the number of presses."""
    handle = locator.element_handle()
    return _tab_until(page, "([target]) => document.activeElement === target", [handle, None], str(locator), limit)


def tab_to_group(page, name: str, limit: int = 40) -> int:
    """Move the focus into the radio group ``name`` (the browser lands on its checked or first radio)."""
    return _tab_until(page, "([, name]) => document.activeElement && document.activeElement.name === name",
                      [None, name], f"radio group {name}", limit)


def active_value(page) -> str:
    return page.evaluate("() => document.activeElement.value")


def choose(page, name: str, value: str):
    """Pick one radio of a group with the arrow keys (Space when the focus already is on it)."""
    tab_to_group(page, name)
    size = page.locator(f'input[type=radio][name="{name}"]').count()
    for _ in range(size):
        if active_value(page) == value:
            break
        hit(page, "ArrowDown")
    assert active_value(page) == value, f"{value} not reachable with the arrow keys in {name}"
    if not page.evaluate("() => document.activeElement.checked"):
        hit(page, "Space")
    assert page.locator(f'input[name="{name}"][value="{value}"]').is_checked()


def tick(page, name: str, value: str):
    """Tick a checkbox with Space."""
    box = page.locator(f'input[type=checkbox][name="{name}"][value="{value}"]')
    tab_to(page, box)
    if not box.is_checked():
        hit(page, "Space")
    assert box.is_checked()


def type_into(page, name: str, text: str):
    """Reach a text field, select what it holds and type over it."""
    field = page.locator(f'[name="{name}"]')
    tab_to(page, field)
    hit(page, "Control+A")
    page.keyboard.type(text)
    assert field.input_value() == text


def attach(page, name: str, path):
    """Reach the file input, open the file dialog with Enter and pick ``path`` in it."""
    # Playwright intercepts file dialogs once a listener exists; adding it before the Tab presses
    # leaves time for that to reach the browser before Enter opens the dialog.
    page.on("filechooser", _ignore)
    tab_to(page, page.locator(f'input[type=file][name="{name}"]'))
    with page.expect_file_chooser() as chooser:
        hit(page, "Enter")
    chooser.value.set_files(path)


def _ignore(_chooser):
    """The dialog is handled by ``expect_file_chooser``."""


def press(page, locator, key: str = "Enter", limit: int = 40):
    """Reach a button or link and activate it with ``key`` (Enter or Space)."""
    tab_to(page, locator, limit)
    hit(page, key)


def fill_page(page, number: int, fields: list[Field], pdf, key: str = "Enter"):
    """Answer one page in the order of ``fields`` and save it with its main button."""
    for field in fields:
        if field.kind == "text":
            type_into(page, field.name, field.value)
        elif field.kind == "radio":
            choose(page, field.name, field.value)
        elif field.kind == "checkbox":
            tick(page, field.name, field.value)
        else:
            attach(page, field.name, pdf)
    with page.expect_navigation():
        press(page, save_button(page, number), key)
    assert_no_errors(page)

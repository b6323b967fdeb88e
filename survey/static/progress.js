// The progress page of a round being sent: while messages wait, read the page again every few seconds and
// put in the new figures. Without this file the page's « Mettre à jour » link does the same by hand. No
// meta refresh: a page that reloads itself moves the reader's focus and breaks WCAG 2.2.1 (axe's meta-refresh).
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || !box.getAttribute("data-refresh") || !window.fetch || !window.DOMParser) return;
  var delay = 1000 * Number(box.getAttribute("data-refresh"));

  function replace(fresh, id) {
    var mine = document.getElementById(id), theirs = fresh.querySelector("#" + id);
    if (mine && theirs && mine.innerHTML !== theirs.innerHTML) mine.innerHTML = theirs.innerHTML;
  }

  function update() {
    fetch(window.location.href, {credentials: "same-origin"})
      .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("progress");
        if (!fresh) return;
        replace(fresh, "progress-counts");
        replace(fresh, "progress-links");
        var status = document.getElementById("progress-status"), said = fresh.querySelector("#progress-status");
        // Only a change is announced (the status is a live region): not every few seconds.
        if (status && said && status.textContent !== said.textContent) status.textContent = said.textContent;
        if (fresh.getAttribute("data-refresh")) window.setTimeout(update, delay);
        else box.removeAttribute("data-refresh");
      })
      .catch(function () { window.setTimeout(update, 3 * delay); });
  }

  window.setTimeout(update, delay);
})();

// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function pickedValues(form, name) {
    return Array.prototype.filter.call(form.querySelectorAll('[name="' + name + '"]'), function (input) {
      return input.checked;
    }).map(function (input) { return input.value; });
  }

  // A number typed the French way (1 234,5); NaN when it is not one.
  function typedNumber(form, name) {
    var input = form.querySelector('[name="' + name + '"]');
    var text = input ? input.value.replace(/[\s\u00a0\u202f]/g, "").replace(",", ".") : "";
    return /^[+-]?\d+(\.\d+)?$/.test(text) ? parseFloat(text) : NaN;
  }

  // The same conditions as survey/engine/conditions.py; tests of other pages arrive already decided ("const").
  function holds(form, condition) {
    if ("const" in condition) { return condition["const"]; }
    if (condition.all) { return condition.all.every(function (c) { return holds(form, c); }); }
    if (condition.any) { return condition.any.some(function (c) { return holds(form, c); }); }
    var picked = pickedValues(form, condition.question);
    var has = function (v) { return picked.indexOf(v) !== -1; };
    if (condition.any_of) { return condition.any_of.some(has); }
    if (condition.all_of) { return condition.all_of.every(has); }
    if (condition.none_of) { return !condition.none_of.some(has); }
    var n = typedNumber(form, condition.question);
    if (isNaN(n)) { return false; }
    if ("gt" in condition) { return n > condition.gt; }
    if ("gte" in condition) { return n >= condition.gte; }
    if ("lt" in condition) { return n < condition.lt; }
    if ("lte" in condition) { return n <= condition.lte; }
    return n === condition.eq;
  }

  function refresh(form) {
    form.querySelectorAll(".conditional[data-condition]").forEach(function (block) {
      try {
        block.hidden = !holds(form, JSON.parse(block.getAttribute("data-condition")));
      } catch (e) {
        block.hidden = false;  // shown rather than lost; the server decides on saving
      }
    });
    form.querySelectorAll(".followup[data-followup-of]").forEach(function (block) {
      var picked = pickedValues(form, block.getAttribute("data-followup-of"));
      block.hidden = picked.indexOf(block.getAttribute("data-choice")) === -1;
    });
  }

  document.querySelectorAll("form").forEach(function (form) {
    refresh(form);
    form.addEventListener("change", function () { refresh(form); });
    form.addEventListener("input", function () { refresh(form); });
  });

  // French numbers: 12 348, grouped with a no-break space as the pages print them.
  function number(n) { return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0"); }
  function count(n, word) { return number(n) + " " + word + (n < 2 ? "" : "s"); }

  // The character count (GOV.UK's behaviour): always seen; heard by screen
  // readers only near the limit (90 %), once typing pauses for a second.
  // It never cuts what is typed: the server refuses a text over the limit.
  document.querySelectorAll(".char-count[data-for]").forEach(function (counter) {
    var area = document.getElementById(counter.getAttribute("data-for"));
    var status = document.getElementById(counter.getAttribute("data-status"));
    var max = parseInt(counter.getAttribute("data-max"), 10);
    if (!area || !max) { return; }
    var timer = null;
    var message = function () {
      var length = area.value.length;
      if (length > max) { return count(length - max, "caractère") + " de trop (" + number(length) + " sur " + number(max) + ")"; }
      return count(length, "caractère") + " sur " + number(max);
    };
    var announce = function () {
      var length = area.value.length;
      if (!status) { return; }
      if (length > max) { status.textContent = "Vous avez dépassé la limite de " + count(length - max, "caractère") + "."; }
      else if (length >= max * 0.9) { status.textContent = "Il vous reste " + count(max - length, "caractère") + "."; }
      else { status.textContent = ""; }
    };
    area.addEventListener("input", function () {
      counter.textContent = message();
      counter.classList.toggle("char-count-over", area.value.length > max);
      window.clearTimeout(timer);
      timer = window.setTimeout(announce, 1000);
    });
  });

  // A document over the limit is stopped before it leaves, with the texts of the page.
  function tooBig(input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files && input.files[0];
    return file && file.size > max ? file : null;
  }
  function showFileError(input, file) {
    var id = "e-js-" + input.id;
    var error = document.getElementById(id);
    if (!file) { if (error) { error.remove(); } input.removeAttribute("aria-invalid"); return; }
    if (!error) {
      error = document.createElement("p");
      error.className = "error-message";
      error.id = id;
      input.parentNode.insertBefore(error, input);
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + id).trim());
    }
    var mb = Math.floor(parseInt(input.getAttribute("data-max-bytes"), 10) / 1048576);
    error.textContent = "Erreur : le fichier « " + file.name + " » dépasse la taille maximale de " + mb + " Mo. " +
      "Choisissez un fichier plus léger ou retirez-le ; vos autres réponses n’ont pas été envoyées.";
    input.setAttribute("aria-invalid", "true");
  }
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () { showFileError(input, tooBig(input)); });
    if (input.form) {
      input.form.addEventListener("submit", function (event) {
        var file = tooBig(input);
        if (file) {
          event.preventDefault();
          showFileError(input, file);
          input.focus();
        }
      });
    }
  });

  // A link to a field (error summary, "Modifier", a Caf's correction) lands focus on the field and
  // shows its whole question: its label, or a grid's column headers, not only the input.
  function reveal(id) {
    var field = id && document.getElementById(id);
    if (!field || !/^(INPUT|TEXTAREA|SELECT)$/.test(field.tagName)) { return false; }
    var question = field.closest(".question") || field;
    question.scrollIntoView({ block: "start" });
    window.scrollBy(0, -16);  // a little air above the label
    field.focus({ preventScroll: true });
    return true;
  }
  document.querySelectorAll('.error-summary a[href^="#"]').forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (reveal(link.getAttribute("href").slice(1))) { event.preventDefault(); }
    });
  });

  var summary = document.querySelector(".error-summary[tabindex]");
  if (!(location.hash && reveal(decodeURIComponent(location.hash.slice(1)))) && summary) { summary.focus(); }
})();

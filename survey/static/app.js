// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function pickedValues(form, name) {
    return Array.prototype.filter.call(form.querySelectorAll('[name="' + name + '"]'), function (input) {
      return input.checked;
    }).map(function (input) { return input.value; });
  }

  function refresh(form) {
    form.querySelectorAll(".conditional[data-show-if]").forEach(function (block) {
      var wanted = block.getAttribute("data-any-of").split(" ");
      var picked = pickedValues(form, block.getAttribute("data-show-if"));
      block.hidden = !picked.some(function (v) { return wanted.indexOf(v) !== -1; });
    });
    form.querySelectorAll(".followup[data-followup-of]").forEach(function (block) {
      var picked = pickedValues(form, block.getAttribute("data-followup-of"));
      block.hidden = picked.indexOf(block.getAttribute("data-choice")) === -1;
    });
  }

  document.querySelectorAll("form").forEach(function (form) {
    refresh(form);
    form.addEventListener("change", function () { refresh(form); });
  });

  document.querySelectorAll(".char-count[data-for]").forEach(function (counter) {
    var area = document.getElementById(counter.getAttribute("data-for"));
    if (!area) { return; }
    var update = function () { counter.textContent = area.value.length + " caractère(s) saisi(s)."; };
    area.addEventListener("input", update);
  });

  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () {
      var max = parseInt(input.getAttribute("data-max-bytes"), 10);
      var file = input.files && input.files[0];
      input.setCustomValidity(file && file.size > max ? "Ce fichier dépasse la taille maximale autorisée." : "");
      input.reportValidity();
    });
  });

  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary) { summary.focus(); }
})();

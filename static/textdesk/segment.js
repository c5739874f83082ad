// The segment editor: condition rows <-> the JSON definition, and a live count.
(function () {
  "use strict";
  var form, list, ops, timer;
  var VALUE_BY_KIND = { text: ".text-value", tag: ".tag-value", owner: ".owner-value",
    consent: ".consent-value", date: ".date-value", replied: ".text-value", send: ".send-value",
    event: ".event-value" };
  var NO_VALUE = ["is_set", "is_not_set", "is_none", "never"];

  function kindOf(row) {
    var field = row.querySelector(".field");
    return field.options[field.selectedIndex].dataset.kind;
  }

  function valueInput(row) {
    var kind = kindOf(row);
    var op = row.querySelector(".op").value;
    if (kind === "date" && op !== "within_days") { return row.querySelector(".date-value"); }
    if (kind === "replied" && op === "since") { return row.querySelector(".date-value"); }
    return row.querySelector(VALUE_BY_KIND[kind]);
  }

  function refreshRow(row, keepOp) {
    var kind = kindOf(row);
    var opSelect = row.querySelector(".op");
    var current = keepOp || opSelect.value;
    opSelect.innerHTML = "";
    (ops[kind] || []).forEach(function (pair) {
      var option = document.createElement("option");
      option.value = pair[0];
      option.textContent = pair[1];
      opSelect.appendChild(option);
    });
    if (current && opSelect.querySelector('option[value="' + current + '"]')) { opSelect.value = current; }
    row.querySelectorAll(".value").forEach(function (input) { input.hidden = true; });
    var input = valueInput(row);
    if (input) { input.hidden = NO_VALUE.indexOf(opSelect.value) !== -1; }
  }

  function addRow(condition) {
    var row = document.getElementById("condition-row").content.firstElementChild.cloneNode(true);
    list.appendChild(row);
    if (condition) { row.querySelector(".field").value = condition.field; }
    refreshRow(row, condition && condition.op);
    if (condition && condition.value !== undefined && condition.value !== null) {
      var input = valueInput(row);
      if (input) { input.value = condition.value; }
    }
    return row;
  }

  function definition() {
    var conditions = [];
    list.querySelectorAll(".condition").forEach(function (row) {
      var op = row.querySelector(".op").value;
      var condition = { field: row.querySelector(".field").value, op: op };
      var input = valueInput(row);
      if (input && NO_VALUE.indexOf(op) === -1) { condition.value = input.value; }
      conditions.push(condition);
    });
    return { match: form.querySelector("[name=match]").value, conditions: conditions };
  }

  function changed() {
    form.querySelector("[name=definition]").value = JSON.stringify(definition());
    clearTimeout(timer);
    timer = setTimeout(count, 250);
  }

  function count() {
    var data = new FormData();
    data.append("definition", form.querySelector("[name=definition]").value);
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    fetch(form.dataset.countUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) { form.querySelector(".segment-count").innerHTML = html; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    form = document.getElementById("segment-form");
    if (!form) { return; }
    list = document.getElementById("conditions");
    ops = JSON.parse(form.dataset.ops);
    var saved = JSON.parse(form.querySelector("[name=definition]").value || "{}");
    form.querySelector("[name=match]").value = saved.match || "all";
    (saved.conditions || []).forEach(function (condition) {
      if (!condition.conditions) { addRow(condition); }  // nested groups: API only, for now
    });
    document.getElementById("add-condition").addEventListener("click", function () { addRow(); changed(); });
    list.addEventListener("click", function (event) {
      if (event.target.classList.contains("remove")) { event.target.closest(".condition").remove(); changed(); }
    });
    list.addEventListener("change", function (event) {
      var row = event.target.closest(".condition");
      if (event.target.classList.contains("field") || event.target.classList.contains("op")) { refreshRow(row); }
      changed();
    });
    list.addEventListener("input", changed);
    form.querySelector("[name=match]").addEventListener("change", changed);
    form.addEventListener("submit", function () {
      form.querySelector("[name=definition]").value = JSON.stringify(definition());
    });
    changed();
  });
})();

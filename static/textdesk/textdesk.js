// Keep conversation threads scrolled to the newest message, unless the reader scrolled up.
(function () {
  "use strict";
  var stickToBottom = true;

  function thread() {
    return document.querySelector(".thread");
  }

  function scrollToEnd() {
    var el = thread();
    if (el && stickToBottom) {
      el.scrollTop = el.scrollHeight;
    }
  }

  document.addEventListener("DOMContentLoaded", scrollToEnd);
  document.addEventListener("htmx:beforeSwap", function () {
    var el = thread();
    if (el) {
      stickToBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    }
  });
  document.addEventListener("htmx:afterSettle", scrollToEnd);
  // After a sent reply, the next one can be typed straight away.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.requestConfig && event.detail.requestConfig.verb === "post") {
      stickToBottom = true;
      scrollToEnd();
      var box = document.querySelector("#reply-form textarea, #phone-body");
      if (box) {
        box.focus();
      }
    }
  });
  function setText(box, text) {
    box.value = text;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  }

  // "Replace these characters": swap in the GSM-7 version the meter suggested.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".replace-culprits");
    if (!button) {
      return;
    }
    var box = document.querySelector(button.dataset.target);
    if (box && !box.readOnly) {
      setText(box, button.dataset.text);
    }
  });

  // Insert a template, filled in for this conversation's contact, where the cursor is.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.classList || !select.classList.contains("insert-template") || !select.value) {
      return;
    }
    var url = select.dataset.url.replace(/\/0\/$/, "/" + select.value + "/");
    select.value = "";
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var box = document.querySelector("#reply-form textarea[name=body]");
        if (!box || box.readOnly || data.text === undefined) {
          return;
        }
        var start = box.selectionStart || box.value.length;
        var end = box.selectionEnd || box.value.length;
        setText(box, box.value.slice(0, start) + data.text + box.value.slice(end));
      });
  });

  // Compose: start from a template's own text (merge fields and all).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.classList || !select.classList.contains("insert-raw-template") || !select.value) {
      return;
    }
    var option = select.options[select.selectedIndex];
    var box = document.querySelector(select.dataset.target);
    if (box) {
      setText(box, option.dataset.body);
    }
    select.value = "";
  });

  // Ctrl/Cmd+Enter sends the reply.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });
})();

// Warn before sending a picture that carriers handle badly (over about 600 KB).
document.addEventListener("change", function (event) {
  "use strict";
  if (!event.target.classList || !event.target.classList.contains("attach-input")) {
    return;
  }
  var file = event.target.files && event.target.files[0];
  var warning = event.target.closest(".attach").querySelector(".attach-warning");
  if (warning) {
    warning.hidden = !(file && file.size > 600 * 1024);
  }
});

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
  // Ctrl/Cmd+Enter sends the reply.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });
})();

// Notifications: a toast for things said to you (a takeover, a mention, an assignment), and a
// browser notification, when permitted, for new texts assigned to you or in inboxes you follow.
(function () {
  "use strict";

  function me() {
    return parseInt(document.body.dataset.user, 10);
  }

  function following() {
    return (document.body.dataset.following || "").split(",").filter(Boolean).map(Number);
  }

  function viewing(conversationId) {
    var page = document.querySelector(".conversation-page");
    return page && parseInt(page.dataset.conversation, 10) === conversationId &&
      document.visibilityState === "visible";
  }

  function toast(text, url) {
    var box = document.getElementById("toasts");
    if (!box) {
      return;
    }
    var item = document.createElement(url ? "a" : "div");
    item.className = "toast";
    item.textContent = text;  // never HTML: text from the server is shown as text
    if (url) {
      item.href = url;
    }
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
  }

  function notify(title, body, url) {
    if (!("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    var n = new Notification(title, { body: body, tag: url || title });
    n.onclick = function () {
      window.focus();
      if (url) {
        location.href = url;
      }
    };
  }

  function inboxName(id) {
    var link = document.querySelector('.inbox-switcher a[href="/inboxes/' + id + '/"] .inbox-name');
    return link ? link.textContent : "an inbox";
  }

  document.addEventListener("textdesk:live", function (event) {
    var e = event.detail;
    if (e.replay && e.id <= window.TextdeskLive.renderedAfter) {
      return;  // older than this page: old news, not worth a notification
    }
    if (e.kind === "notice" && e.user === me()) {
      toast(e.text, e.url);
      if (document.visibilityState !== "visible") {
        notify("Textdesk", e.text, e.url);
      }
    }
    if (e.kind === "message" && e.direction === "in" && !viewing(e.conversation)) {
      var mine = e.assigned_to === me();
      if (mine || following().indexOf(e.inbox) !== -1) {
        var url = "/inboxes/" + e.inbox + "/conversations/" + e.conversation + "/";
        notify("New text in " + inboxName(e.inbox), mine ? "In a conversation assigned to you" : "", url);
      }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector(".enable-notifications");
    if (!button || !("Notification" in window) || Notification.permission !== "default") {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.hidden = true; });
    });
  });
})();

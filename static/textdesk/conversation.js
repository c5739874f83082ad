// The conversation page: presence and lock renewal, the idle warning, drafts that survive
// losing the lock, and the reply box following the lock's state.
(function () {
  "use strict";
  var HEARTBEAT_MS = 10000;      // matches locks.HEARTBEAT_SECONDS
  var ACTIVITY_EVERY_MS = 10000; // at most one renewal per this long while active
  var WARN_BEFORE_MS = 20000;    // the idle warning shows this long before the lock lets go

  var page = null;
  var conversationId = null;
  var tab = null;
  var timeoutMs = 120000;
  var lastActivity = Date.now();
  var lastActivitySent = 0;

  function send(type) {
    if (window.TextdeskLive) {
      window.TextdeskLive.send({ type: type, conversation: conversationId, tab: tab });
    }
  }

  function draftKey() {
    return "textdesk:draft:" + conversationId;
  }

  function replyBox() {
    return document.querySelector("#reply-form textarea[name=body]");
  }

  function header() {
    return document.getElementById("conversation-header");
  }

  function lockState() {
    var h = header();
    return h ? h.dataset.lock : "free";
  }

  // A STOP that arrives while the conversation is open: the re-fetched thread says so, and
  // the reply box turns off with the reason (the draft stays, the server refuses anyway).
  function applyConsent() {
    var form = document.getElementById("reply-form");
    var thread = document.getElementById("thread");
    if (!form || !thread || thread.dataset.optedOut === undefined) {
      return;
    }
    var out = thread.dataset.optedOut === "true";
    form.dataset.optedOut = out ? "true" : "false";
    var box = replyBox();
    if (box) { box.disabled = out; }
    var note = form.querySelector(".opted-out-note");
    if (out && !note) {
      note = document.createElement("p");
      note.className = "opted-out-note";
      note.setAttribute("role", "status");
      form.insertBefore(note, form.querySelector("label[for=id_body]"));
    }
    if (note) {
      note.hidden = !out;
      if (out) { note.textContent = thread.dataset.optedOutReason; }
    }
  }

  // The reply box follows the lock: read-only while someone else holds it, the text kept.
  function applyLockState() {
    var form = document.getElementById("reply-form");
    var box = replyBox();
    if (!form || !box) {
      return;
    }
    var other = lockState() === "other";
    box.readOnly = other;
    // Someone who opted out cannot be answered, whoever holds the lock (the server says so).
    form.querySelector("button[type=submit]").disabled = other || form.dataset.optedOut === "true";
    var note = form.querySelector(".lock-note");
    if (note) {
      note.hidden = !other;
      if (other) {
        note.textContent = (header().dataset.holder || "Someone else") +
          " is answering; you can reply when they are done. Anything you type here is kept.";
      }
    }
    if (!other) {
      hideWarning();
    }
  }

  // The newest message shown when the reply was begun: the server refuses (409) a reply begun
  // before a newer text. While the box is empty, the reply has not begun: keep up with the thread.
  function markSeen() {
    var thread = document.getElementById("thread");
    var seen = document.querySelector("#reply-form input[name=seen]");
    if (thread && seen && thread.dataset.newest) {
      seen.value = thread.dataset.newest;
    }
  }

  function restoreDraft() {
    var box = replyBox();
    if (!box) {
      return;
    }
    var form = document.getElementById("reply-form");
    if (form && form.dataset.sent === "true") {
      localStorage.removeItem(draftKey());
      return;
    }
    var draft = localStorage.getItem(draftKey());
    if (draft && !box.value) {
      box.value = draft;
    }
  }

  function activity() {
    lastActivity = Date.now();
    hideWarning();
    if (Date.now() - lastActivitySent >= ACTIVITY_EVERY_MS) {
      lastActivitySent = Date.now();
      send("activity");
    }
  }

  function warning() {
    var h = header();
    return h ? h.querySelector(".idle-warning") : null;
  }

  function hideWarning() {
    var w = warning();
    if (w) {
      w.hidden = true;
    }
  }

  function checkIdle() {
    if (lockState() !== "mine") {
      return;
    }
    var idleFor = Date.now() - lastActivity;
    var w = warning();
    if (w && idleFor >= timeoutMs - WARN_BEFORE_MS) {
      w.hidden = false;
    }
  }

  function leave() {
    send("leave");
    var url = page.dataset.leaveUrl;
    var token = document.querySelector("#reply-form [name=csrfmiddlewaretoken]");
    if (navigator.sendBeacon && url && token) {
      var data = new FormData();
      data.append("tab", tab);
      data.append("csrfmiddlewaretoken", token.value);
      navigator.sendBeacon(url, data);
    }
  }

  function start() {
    page = document.querySelector(".conversation-page");
    if (!page) {
      return;
    }
    conversationId = parseInt(page.dataset.conversation, 10);
    tab = page.dataset.tab;
    timeoutMs = parseInt(page.dataset.lockTimeout, 10) * 1000 || timeoutMs;
    restoreDraft();
    applyLockState();

    // Presence only: a reconnect is not the person doing anything (they may be away).
    document.addEventListener("textdesk:connected", function () { send("watch"); });
    setInterval(function () { send("watch"); }, HEARTBEAT_MS);
    setInterval(checkIdle, 1000);

    ["keydown", "pointerdown", "wheel", "scroll", "touchstart"].forEach(function (name) {
      document.addEventListener(name, activity, { passive: true, capture: true });
    });
    window.addEventListener("focus", activity);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        activity();
      }
    });
    document.addEventListener("input", function (event) {
      var box = replyBox();
      if (event.target === box) {
        localStorage.setItem(draftKey(), box.value);
        if (box.value.length > 0 && box.dataset.composing !== "true") {
          // A reply is "begun" now: it should answer what is on screen at this moment.
          box.dataset.composing = "true";
          markSeen();
        } else if (box.value.length === 0) {
          box.dataset.composing = "false";
        }
      }
    });
    document.addEventListener("click", function (event) {
      if (event.target.closest && event.target.closest(".keep-lock")) {
        lastActivitySent = 0;
        activity();
      }
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.target.id === "conversation-header" || event.target.id === "reply-form" ||
          event.target.id === "thread") {
        restoreDraft();
        applyConsent();
        applyLockState();
        var box = replyBox();
        if (box && !box.value) {
          markSeen();
        }
      }
    });
    window.addEventListener("pagehide", leave);
  }

  document.addEventListener("DOMContentLoaded", start);
})();

// Live updates: one WebSocket per page. Events carry only ids; the page re-fetches the
// fragments that show the changed inbox or conversation through the ordinary views.
(function () {
  "use strict";
  var seen = new Set();
  var lastId = 0;  // the newest event this page has heard of (or was rendered after)
  var socket = null;
  var attempts = 0;
  var tab = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2);

  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/";
  }

  // Re-fetch a fragment at once; while its request is in flight, further events only mark it
  // for one more fetch when the request ends. So a burst (a send to many, a flurry of
  // receipts) costs at most two requests per fragment, and the last one sees everything.
  // Fragments are known by id: by the time a request ends, its element has been replaced.
  var inFlight = new Set();
  var again = new Set();

  function refresh(element) {
    var id = element.id;
    if (inFlight.has(id)) {
      again.add(id);
      return;
    }
    inFlight.add(id);
    htmx.ajax("GET", element.dataset.liveUrl, { source: element, target: element, swap: "outerHTML" })
      .catch(function () { /* the next event or reconnect fetches it again */ })
      .then(function () {
        inFlight.delete(id);
        if (again.delete(id)) {
          var current = document.getElementById(id);
          if (current) {
            refresh(current);
          }
        }
      });
  }

  // Each fragment says which kinds of event change what it shows (data-live-kinds).
  function refreshAll(selector, kind) {
    document.querySelectorAll(selector).forEach(function (element) {
      var kinds = element.dataset.liveKinds;
      if (!kind || !kinds || kinds.split(" ").indexOf(kind) !== -1) {
        refresh(element);
      }
    });
  }

  function handle(event) {
    if (event.kind === "pong") {
      return;
    }
    if (event.kind === "resync") {
      refreshAll("[data-live-inbox], [data-live-conversation], [data-live-topic]");
      return;
    }
    if (event.id) {
      if (seen.has(event.id)) {
        return;  // the same event can arrive twice (direct and relayed)
      }
      if (seen.size > 5000) {
        seen.clear();
      }
      seen.add(event.id);
      lastId = Math.max(lastId, event.id);
    }
    if (event.inbox !== null && event.inbox !== undefined) {
      refreshAll('[data-live-inbox="' + event.inbox + '"], [data-live-inbox="*"]', event.kind);
    } else if (event.kind === "read") {
      refreshAll("[data-live-inbox]", event.kind);  // counts of what this user has not read
    }
    if (event.conversation !== null && event.conversation !== undefined) {
      refreshAll('[data-live-conversation="' + event.conversation + '"]', event.kind);
    }
    if (event.topic) {
      refreshAll('[data-live-topic="' + event.topic + '"]');  // an import's progress, ...
    }
    document.dispatchEvent(new CustomEvent("textdesk:live", { detail: event }));
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.onopen = function () {
      var reconnect = attempts > 0;
      attempts = 0;
      document.documentElement.dataset.live = "open";
      // Ask for whatever happened since this page was rendered, or since the connection
      // dropped: the server replays those events (or says to re-fetch everything).
      send({ type: "hello", since: lastId });
      document.dispatchEvent(new CustomEvent("textdesk:connected", { detail: { reconnect: reconnect } }));
    };
    socket.onmessage = function (message) {
      handle(JSON.parse(message.data));
    };
    socket.onclose = function () {
      document.documentElement.dataset.live = "closed";
      document.dispatchEvent(new CustomEvent("textdesk:disconnected"));
      var delay = Math.min(10000, 300 * Math.pow(2, attempts++)) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  // A heartbeat keeps proxies from closing an idle socket and tells the server we are here.
  setInterval(function () { send({ type: "ping" }); }, 15000);
  // A safety net: should an event ever fail to reach us (Redis briefly down), ask again.
  setInterval(function () { send({ type: "hello", since: lastId }); }, 60000);

  window.TextdeskLive = { send: send, tab: tab, renderedAfter: 0 };
  document.addEventListener("DOMContentLoaded", function () {
    lastId = parseInt(document.body.dataset.liveSince, 10) || 0;
    window.TextdeskLive.renderedAfter = lastId;
    connect();
  });
})();

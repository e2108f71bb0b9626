// Small progressive enhancements; every form also works without JavaScript.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Selects marked data-autosubmit submit their form on change (org switcher, member role).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });

  // Copy buttons for one-time secrets (new API keys, invitation links).
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.focus();
      field.select();
      try { if (document.execCommand("copy")) done(); } catch (e) { /* selected for manual copy */ }
    }
  });
  // The options field of the add-integration form shows only for the source it belongs to.
  function toggleSourceFields() {
    document.querySelectorAll("select[data-toggles-options]").forEach(function (select) {
      if (!select.form) return;
      select.form.querySelectorAll("[data-for-source]").forEach(function (field) {
        field.hidden = field.getAttribute("data-for-source") !== select.value;
      });
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target instanceof HTMLSelectElement && event.target.hasAttribute("data-toggles-options")) {
      toggleSourceFields();
    }
  });

  // Live parts of a page: an element with an id, data-live-refresh (the URL that renders it)
  // and data-live-stream (a Server-Sent Events URL). One EventSource per page; on "changed",
  // and on every (re)connection so that nothing missed while it was closed stays missed, each
  // live part is fetched again and swapped for its new copy (open <details> stay open); the
  // first connection after a page load is not a reconnection and refreshes nothing.
  // Changes that arrive during a refresh are folded into one more refresh.
  var live = null;
  var liveUrl = null;
  var refreshing = false;
  var refreshAgain = false;

  function refreshLive() {
    if (!window.htmx) return;
    if (refreshing) { refreshAgain = true; return; }
    var parts = document.querySelectorAll("[data-live-refresh][id]");
    if (!parts.length) return;
    refreshing = true;
    var jobs = [];
    parts.forEach(function (part) {
      var selector = "#" + part.id;
      var open = [];
      part.querySelectorAll("details[open][id]").forEach(function (d) { open.push(d.id); });
      var job = htmx.ajax("GET", part.getAttribute("data-live-refresh"), {
        target: selector, select: selector, swap: "outerHTML"
      });
      jobs.push(Promise.resolve(job).then(function () {
        open.forEach(function (id) {
          var details = document.getElementById(id);
          if (details) details.open = true;
        });
      }));
    });
    Promise.all(jobs).catch(function () { /* the next change tries again */ }).then(function () {
      refreshing = false;
      if (refreshAgain) { refreshAgain = false; refreshLive(); }
    });
  }

  function connectLive() {
    var part = document.querySelector("[data-live-stream]");
    var url = part ? part.getAttribute("data-live-stream") : null;
    if (live && liveUrl === url) return;
    if (live) { live.close(); live = null; liveUrl = null; }
    if (!url || !window.EventSource) return;
    liveUrl = url;
    live = new EventSource(url);
    // The first "ready" follows the page just rendered: nothing to catch up on, and swapping
    // the list then could take a click meant for a link in it. Later ones are reconnections.
    var connected = false;
    live.addEventListener("ready", function () {
      if (connected) refreshLive();
      connected = true;
    });
    live.addEventListener("changed", refreshLive);
  }

  function onPage() {
    toggleSourceFields();
    connectLive();
  }
  // htmx:load fires for the first page and for every page or part htmx swaps in (hx-boost).
  document.addEventListener("htmx:load", onPage);
  document.addEventListener("DOMContentLoaded", onPage);
})();

// Chat: the conversation's Server-Sent Events. "delta" pieces of the answer show as they
// arrive; each stored entry ("message", with its seq) is fetched as server-rendered HTML from
// the page's data-chat-entries URL and appended. Asking and inline approve/deny post in the
// background (the stream shows what follows); without JavaScript they are plain forms.
(function () {
  "use strict";
  var source = null;
  var sourceUrl = null;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function connect() {
    var list = document.getElementById("chat-entries");
    var url = list ? list.getAttribute("data-chat-stream") : null;
    if (source && sourceUrl === url) return;
    if (source) { source.close(); source = null; sourceUrl = null; }
    if (!url || !window.EventSource) return;
    var streaming = document.getElementById("chat-streaming");
    var fetching = Promise.resolve();
    function last() { return parseInt(list.getAttribute("data-chat-last") || "0", 10); }
    function append() {
      fetching = fetching.then(function () {
        var base = list.getAttribute("data-chat-entries");
        return fetch(base + "?after=" + last(), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) {
            if (!html.trim()) return;
            var box = document.createElement("ol");
            box.innerHTML = html;
            Array.prototype.slice.call(box.children).forEach(function (item) {
              var seq = parseInt(item.getAttribute("data-seq") || "0", 10);
              if (seq <= last()) return;
              list.appendChild(item);
              list.setAttribute("data-chat-last", String(seq));
              if (item.getAttribute("data-role") === "assistant" && streaming) {
                streaming.textContent = ""; streaming.hidden = true;
              }
            });
          });
      });
    }
    sourceUrl = url;
    source = new EventSource(url + "?after=" + last());
    source.addEventListener("message", function (e) {
      var data = JSON.parse(e.data);
      if (data.seq > last()) append();
    });
    source.addEventListener("delta", function (e) {
      if (!streaming) return;
      streaming.hidden = false;
      streaming.textContent += JSON.parse(e.data).text;
    });
    source.addEventListener("done", function () {
      var status = document.getElementById("chat-status");
      if (status) status.textContent = "";
    });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id === "chat-ask") {
      e.preventDefault();
      var body = new FormData(form);
      var status = document.getElementById("chat-status");
      fetch(form.action, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "X-Chat-Ask": "1" }
      }).then(function (r) {
        return r.text().then(function (text) {
          if (!r.ok) { if (status) status.textContent = text; return; }
          form.reset();
          if (status) status.textContent = "Thinking…";
        });
      });
    } else if (form.hasAttribute("data-chat-decision")) {
      e.preventDefault();
      var decision = new FormData(form, e.submitter);
      fetch(form.action, {
        method: "POST", body: decision, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf() }
      }).then(function (r) {
        var done = document.createElement("span");
        done.className = "badge approval-state";
        done.textContent = r.ok ? (decision.get("decision") === "approve" ? "approved" : "denied") : "could not decide";
        form.replaceWith(done);
      });
    }
  });

  document.addEventListener("htmx:load", connect);
  document.addEventListener("DOMContentLoaded", connect);
})();

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

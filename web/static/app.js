// hybridsync: the little script the console needs beyond htmx.
//
// A job page streams its events over SSE starting after the last event it
// rendered (?after=N). The browser's EventSource resumes by itself with
// Last-Event-ID, but when the SSE extension has to create a new EventSource
// (after the old one closed) it reuses the page's original URL and would replay
// events already shown. Start such a stream after the last event on the page.
(function () {
  if (!window.htmx) return;
  var base = htmx.createEventSource;
  htmx.createEventSource = function (url) {
    var log = document.getElementById("job-log");
    var last = log && log.lastElementChild;
    if (last && last.dataset.seq && /[?&]after=\d+/.test(url)) {
      url = url.replace(/([?&]after=)\d+/, "$1" + last.dataset.seq);
    }
    return base ? base(url) : new EventSource(url);
  };
})();

// Times: every time is shown in the browser's time zone, in one format
// (YYYY-MM-DD HH:MM:SS). The server learns the zone from the "tz" cookie set
// here; a page rendered before it knew (data-zone="UTC") is converted here.
(function () {
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
  if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) < 0) {
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function local(el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) return;
    el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    el.removeAttribute("data-zone");
  }
  function convert(root) {
    var els = (root || document).querySelectorAll("time[data-zone='UTC']");
    for (var i = 0; i < els.length; i++) local(els[i]);
  }
  document.addEventListener("DOMContentLoaded", function () { convert(document); });
  document.addEventListener("htmx:load", function (e) { convert(e.target); });
})();

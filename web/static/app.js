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

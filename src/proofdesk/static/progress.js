// Follows a bulk invitation: counts of sent, failed and waiting, refreshed every second.
(function () {
  "use strict";
  var box = document.querySelector("[data-invite-progress]");
  if (!box) return;
  var url = box.getAttribute("data-invite-progress");
  var bar = box.querySelector("progress");
  function set(name, value) { box.querySelector("[data-count=" + name + "]").textContent = value; }
  function poll() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (c) {
      set("total", c.total); set("sent", c.sent); set("failed", c.failed); set("waiting", c.queued + c.sending);
      bar.max = c.total; bar.value = c.sent + c.failed;
      if (c.queued + c.sending > 0) setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();

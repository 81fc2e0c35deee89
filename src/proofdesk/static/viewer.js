// The review screen: zoom and pan on each page, copy buttons, and pages that appear as they render.
(function () {
  "use strict";
  var viewer = document.querySelector(".viewer");
  var zoom = 1;
  var label = viewer && viewer.querySelector(".zoom-level");

  function apply() {
    viewer.querySelectorAll(".page-frame img").forEach(function (img) {
      var pan = img._pan || { x: 0, y: 0 };
      if (zoom === 1) { pan.x = 0; pan.y = 0; }
      img._pan = pan;
      img.style.transform = "translate(" + pan.x + "px," + pan.y + "px) scale(" + zoom + ")";
    });
    if (label) label.textContent = Math.round(zoom * 100) + "%";
    // Only a zoomed page takes touch drags for panning; at 100% a swipe scrolls the page.
    viewer.classList.toggle("zoomed", zoom > 1);
  }

  function setZoom(value) { zoom = Math.min(8, Math.max(1, value)); apply(); }

  if (viewer) {
    viewer.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var how = button.getAttribute("data-zoom");
        setZoom(how === "in" ? zoom * 1.5 : how === "out" ? zoom / 1.5 : 1);
      });
    });
    viewer.addEventListener("pointerdown", function (e) {
      var img = e.target.closest(".page-frame") && e.target.closest(".page-frame").querySelector("img");
      if (!img || zoom === 1) return;
      var frame = img.parentElement;
      var start = { x: e.clientX, y: e.clientY, pan: Object.assign({ x: 0, y: 0 }, img._pan) };
      frame.setPointerCapture(e.pointerId);
      function move(ev) {
        var maxX = 0, minX = frame.clientWidth - frame.clientWidth * zoom;
        var maxY = 0, minY = frame.clientHeight - frame.clientHeight * zoom;
        img._pan = {
          x: Math.min(maxX, Math.max(minX, start.pan.x + ev.clientX - start.x)),
          y: Math.min(maxY, Math.max(minY, start.pan.y + ev.clientY - start.y)),
        };
        img.style.transform = "translate(" + img._pan.x + "px," + img._pan.y + "px) scale(" + zoom + ")";
      }
      function up() { frame.removeEventListener("pointermove", move); frame.removeEventListener("pointerup", up); }
      frame.addEventListener("pointermove", move);
      frame.addEventListener("pointerup", up);
    });
    viewer.addEventListener("wheel", function (e) {
      if (!e.ctrlKey) return;
      e.preventDefault();
      setZoom(e.deltaY < 0 ? zoom * 1.15 : zoom / 1.15);
    }, { passive: false });
    apply();

    // Pages still rendering: ask the server now and then and show each when it is ready.
    var statusUrl = viewer.getAttribute("data-status-url");
    function poll() {
      if (!viewer.querySelector("[data-pending]")) return;
      fetch(statusUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
        viewer.querySelectorAll("[data-pending]").forEach(function (placeholder) {
          var figure = placeholder.closest(".viewer-page");
          var number = parseInt(figure.getAttribute("data-page"), 10);
          if (number <= s.pages_rendered) {
            var img = document.createElement("img");
            img.src = figure.getAttribute("data-src");
            img.alt = "Page " + number + " of " + viewer.getAttribute("data-page-count") + ", version " +
              viewer.getAttribute("data-version");
            img.draggable = false;
            placeholder.replaceWith(img);
            apply();
          } else if (s.status === "failed") {
            placeholder.removeAttribute("data-pending");
            placeholder.textContent = "Page " + number + " could not be shown. Download the original to see it.";
          }
        });
        setTimeout(poll, 1500);
      }).catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 1000);
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.getAttribute("data-copy"));
      input.select();
      var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy link"; }, 2000); };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      else { document.execCommand("copy"); done(); }
    });
  });
})();

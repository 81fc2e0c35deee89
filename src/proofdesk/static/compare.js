// Compare two versions: side by side, overlaid or as a difference image; every page is zoomed
// and panned together, so the versions stay in step.
(function () {
  "use strict";
  var compare = document.querySelector(".compare");
  if (!compare) return;
  var modeButtons = compare.querySelectorAll(".compare-tools button[data-mode]");
  var opacity = compare.querySelector("[data-opacity]");
  var label = compare.querySelector(".zoom-level");
  var zoom = 1;
  // Pan in fractions of a frame, so frames of different sizes move alike.
  var pan = { x: 0, y: 0 };
  var MOVE = 4;

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  function apply() {
    pan = { x: clamp(pan.x, 1 - zoom, 0), y: clamp(pan.y, 1 - zoom, 0) };
    compare.querySelectorAll(".page-canvas").forEach(function (canvas) {
      var frame = canvas.parentElement;
      canvas.style.transform = "translate(" + pan.x * frame.clientWidth + "px," +
        pan.y * frame.clientHeight + "px) scale(" + zoom + ")";
    });
    if (label) label.textContent = Math.round(zoom * 100) + "%";
    compare.classList.toggle("zoomed", zoom > 1);
  }

  function setZoom(value) {
    var next = clamp(value, 1, 8);
    pan = { x: 0.5 - (0.5 - pan.x) * next / zoom, y: 0.5 - (0.5 - pan.y) * next / zoom };
    zoom = next;
    apply();
  }

  // The server computes a difference image on first request: fetch them only when wanted.
  function loadDiffs() {
    compare.querySelectorAll(".compare-diff img[data-src]").forEach(function (img) {
      img.loading = "lazy";
      img.src = img.getAttribute("data-src");
      img.removeAttribute("data-src");
    });
  }

  function setMode(mode) {
    compare.setAttribute("data-mode", mode);
    modeButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-mode") === mode));
    });
    if (mode === "diff") loadDiffs();
    apply(); // frames that were hidden have a size now
  }

  function setOpacity() {
    compare.querySelectorAll("img.over").forEach(function (img) {
      img.style.opacity = String(opacity.value / 100);
    });
  }

  modeButtons.forEach(function (button) {
    button.addEventListener("click", function () { setMode(button.getAttribute("data-mode")); });
  });
  if (opacity) {
    opacity.addEventListener("input", setOpacity);
    setOpacity();
  }
  compare.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var how = button.getAttribute("data-zoom");
      setZoom(how === "in" ? zoom * 1.5 : how === "out" ? zoom / 1.5 : 1);
    });
  });
  compare.addEventListener("wheel", function (e) {
    if (!e.ctrlKey) return;
    e.preventDefault();
    setZoom(e.deltaY < 0 ? zoom * 1.15 : zoom / 1.15);
  }, { passive: false });

  compare.addEventListener("pointerdown", function (e) {
    var frame = e.target.closest(".page-frame");
    if (!frame || zoom === 1 || e.button !== 0 || !e.isPrimary) return;
    var start = { x: e.clientX, y: e.clientY, pan: { x: pan.x, y: pan.y } };
    frame.setPointerCapture(e.pointerId);
    e.preventDefault();
    function move(ev) {
      if (ev.pointerId !== e.pointerId) return;
      var dx = ev.clientX - start.x, dy = ev.clientY - start.y;
      if (Math.abs(dx) + Math.abs(dy) < MOVE) return;
      pan = { x: start.pan.x + dx / frame.clientWidth, y: start.pan.y + dy / frame.clientHeight };
      apply();
    }
    function end(ev) {
      if (ev.pointerId !== e.pointerId) return;
      frame.removeEventListener("pointermove", move);
      frame.removeEventListener("pointerup", end);
      frame.removeEventListener("pointercancel", end);
    }
    frame.addEventListener("pointermove", move);
    frame.addEventListener("pointerup", end);
    frame.addEventListener("pointercancel", end);
  });

  // Pictures arriving (lazily) or a new window size change the frames' sizes.
  compare.querySelectorAll(".page-canvas img").forEach(function (img) {
    img.addEventListener("load", apply);
  });
  window.addEventListener("resize", apply);
  apply();
})();

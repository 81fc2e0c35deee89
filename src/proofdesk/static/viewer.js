// The review screen: zoom and pan each page, pins on the artwork, copy buttons, late pages.
(function () {
  "use strict";
  var viewer = document.querySelector(".viewer");
  var form = document.getElementById("comment-form");
  var zoom = 1;
  var label = viewer && viewer.querySelector(".zoom-level");
  var MOVE = 6; // pixels a pointer may wander and still make a click or a tap
  var MIN_AREA = 0.01; // a drag narrower than this (a fraction of the page) is a point pin
  var STEP = 0.05; // arrow keys move the new pin by 5% of the page

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }
  function canvases() { return viewer.querySelectorAll(".page-canvas"); }
  function pageOf(el) { return parseInt(el.closest(".viewer-page").getAttribute("data-page"), 10); }

  // ---- Zoom and pan. The transform is on .page-canvas, so the pins move with the artwork.

  function fitPan(canvas) {
    var frame = canvas.parentElement, pan = canvas._pan || { x: 0, y: 0 };
    canvas._pan = { x: clamp(pan.x, frame.clientWidth * (1 - zoom), 0),
                    y: clamp(pan.y, frame.clientHeight * (1 - zoom), 0) };
    canvas.style.transform = "translate(" + canvas._pan.x + "px," + canvas._pan.y + "px) scale(" + zoom + ")";
  }

  function apply() {
    canvases().forEach(fitPan);
    if (label) label.textContent = Math.round(zoom * 100) + "%";
    // Pins keep their size on screen whatever the zoom.
    viewer.style.setProperty("--pin-scale", String(1 / zoom));
    // Only a zoomed page takes touch drags for panning; at 100% a swipe scrolls the page.
    viewer.classList.toggle("zoomed", zoom > 1);
  }

  function setZoom(value) {
    var next = clamp(value, 1, 8);
    canvases().forEach(function (canvas) { // keep the middle of each page where it was
      var frame = canvas.parentElement, pan = canvas._pan || { x: 0, y: 0 };
      var cx = frame.clientWidth / 2, cy = frame.clientHeight / 2;
      canvas._pan = { x: cx - (cx - pan.x) * next / zoom, y: cy - (cy - pan.y) * next / zoom };
    });
    zoom = next;
    apply();
  }

  // ---- Pins: the saved ones, and the new one the reviewer is placing.

  var pending = null; // {page, x, y, w, h} as fractions of the page image
  var marker = null;
  var status = form && form.querySelector(".pin-status");
  var statusText = status && status.textContent;
  var clearButton = form && form.querySelector(".pin-clear");
  var textarea = form && form.querySelector("textarea[name='comment-body']");

  function position(el, pin) {
    el.style.left = pin.x * 100 + "%";
    el.style.top = pin.y * 100 + "%";
    el.style.width = pin.w ? pin.w * 100 + "%" : "";
    el.style.height = pin.h ? pin.h * 100 + "%" : "";
    el.classList.toggle("pin-area", Boolean(pin.w));
  }

  function drawSavedPins() {
    viewer.querySelectorAll("a.pin").forEach(function (a) {
      var data = function (name) { return parseFloat(a.getAttribute("data-" + name)) || 0; };
      position(a, { x: data("x"), y: data("y"), w: data("w"), h: data("h") });
      if (!a.querySelector(".pin-number")) {
        var number = document.createElement("span");
        number.className = "pin-number";
        number.textContent = a.textContent.trim();
        a.textContent = "";
        a.appendChild(number);
      }
    });
  }

  function tenThousandths(value) { return Math.round(clamp(value, 0, 1) * 10000); }

  function fill(name, value) { form.querySelector("input[name='" + name + "']").value = value; }

  // Writes the pin into the form in ten-thousandths, so a rectangle never ends past the edge.
  function setPending(pin, how) {
    var x = tenThousandths(pin.x), y = tenThousandths(pin.y);
    var w = pin.w ? Math.min(tenThousandths(pin.w), 10000 - x) : 0;
    var h = pin.h ? Math.min(tenThousandths(pin.h), 10000 - y) : 0;
    pending = { page: pin.page, x: x / 10000, y: y / 10000, w: w / 10000, h: h / 10000 };
    fill("page", pin.page);
    fill("x", pending.x);
    fill("y", pending.y);
    fill("w", w ? pending.w : "");
    fill("h", h ? pending.h : "");
    showMarker(pending);
    status.textContent = "Pinned to page " + pin.page + " — write your comment";
    clearButton.hidden = false;
    if (how === "pointer" && textarea) textarea.focus();
  }

  // A comment refused by the server (no name, say) comes back with its pin: show it again.
  function restorePending() {
    var value = function (name) { return parseFloat(form.querySelector("input[name='" + name + "']").value); };
    var pin = { page: value("page"), x: value("x"), y: value("y"), w: value("w") || 0, h: value("h") || 0 };
    var inRange = [pin.x, pin.y, pin.w, pin.h].every(function (v) { return v >= 0 && v <= 1; });
    if (inRange && viewer.querySelector("#page-" + pin.page + " .page-canvas")) setPending(pin, "restore");
  }

  function showMarker(pin) {
    var canvas = viewer.querySelector("#page-" + pin.page + " .page-canvas");
    if (!marker) {
      marker = document.createElement("span");
      marker.className = "pin pin-new";
      marker.setAttribute("aria-hidden", "true");
      var sign = document.createElement("span");
      sign.className = "pin-number";
      sign.textContent = "+";
      marker.appendChild(sign);
    }
    if (marker.parentElement !== canvas) canvas.appendChild(marker);
    position(marker, pin);
  }

  function clearPending() {
    pending = null;
    ["page", "x", "y", "w", "h"].forEach(function (name) { fill(name, ""); });
    if (marker) marker.remove();
    status.textContent = statusText;
    clearButton.hidden = true;
  }

  // Where a pointer is on the page image, in fractions; the image's box includes zoom and pan.
  function fractionAt(img, clientX, clientY) {
    var box = img.getBoundingClientRect();
    return { x: clamp((clientX - box.left) / box.width, 0, 1),
             y: clamp((clientY - box.top) / box.height, 0, 1) };
  }

  function areaOf(gesture, e) {
    var a = gesture.start, b = fractionAt(gesture.img, e.clientX, e.clientY);
    return { page: gesture.page, x: Math.min(a.x, b.x), y: Math.min(a.y, b.y),
             w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
  }

  function select(number, from) {
    document.querySelectorAll(".pin.selected, .thread-item.selected").forEach(function (el) {
      el.classList.remove("selected");
    });
    var pin = viewer.querySelector("a.pin[data-pin='" + number + "']");
    var thread = document.querySelector("li.thread-item[data-pin='" + number + "']");
    if (pin) pin.classList.add("selected");
    if (thread) thread.classList.add("selected");
    if (from === "pin" && thread) thread.scrollIntoView({ block: "center" });
    if (from === "ref" && pin) {
      if (zoom > 1) { // bring the pin to the middle of its zoomed page
        var canvas = pin.closest(".page-canvas"), frame = canvas.parentElement;
        var x = parseFloat(pin.getAttribute("data-x")), y = parseFloat(pin.getAttribute("data-y"));
        canvas._pan = { x: frame.clientWidth * (0.5 - x * zoom), y: frame.clientHeight * (0.5 - y * zoom) };
        fitPan(canvas);
      }
      pin.scrollIntoView({ block: "center" });
      pin.focus({ preventScroll: true });
    }
  }

  // ---- Pointer: click or tap pins, a mouse drag draws an area, a drag on a zoomed page pans.

  var gesture = null;

  function onPointerDown(e) {
    var frame = e.target.closest(".page-frame");
    var canvas = frame && frame.querySelector(".page-canvas");
    var img = canvas && canvas.querySelector("img");
    if (!img || e.target.closest("a.pin") || e.button !== 0 || !e.isPrimary) return;
    // A finger on a page at 100% may be starting to scroll: leave it to the browser.
    var kind = zoom > 1 ? "pan" : e.pointerType === "mouse" ? "area" : "tap";
    gesture = { id: e.pointerId, kind: kind, frame: frame, canvas: canvas, img: img,
                page: pageOf(frame), x: e.clientX, y: e.clientY, moved: false,
                start: fractionAt(img, e.clientX, e.clientY),
                pan: Object.assign({ x: 0, y: 0 }, canvas._pan) };
    if (kind !== "tap") frame.setPointerCapture(e.pointerId);
    // No text selection while dragging, and no mousedown after a tap to take the focus from
    // the comment box (a finger can still scroll the page: that is up to touch-action).
    e.preventDefault();
  }

  function onPointerMove(e) {
    var g = gesture;
    if (!g || e.pointerId !== g.id) return;
    var dx = e.clientX - g.x, dy = e.clientY - g.y;
    if (!g.moved && Math.abs(dx) + Math.abs(dy) < MOVE) return;
    g.moved = true;
    if (g.kind === "pan") {
      g.canvas._pan = { x: g.pan.x + dx, y: g.pan.y + dy };
      fitPan(g.canvas);
    } else if (g.kind === "area") {
      showMarker(areaOf(g, e));
    }
  }

  function onPointerUp(e) {
    var g = gesture;
    if (!g || e.pointerId !== g.id) return;
    gesture = null;
    if (!g.moved) {
      var at = fractionAt(g.img, e.clientX, e.clientY);
      setPending({ page: g.page, x: at.x, y: at.y }, "pointer");
    } else if (g.kind === "area") {
      var area = areaOf(g, e);
      setPending(area.w >= MIN_AREA && area.h >= MIN_AREA ? area
        : { page: g.page, x: g.start.x, y: g.start.y }, "pointer");
    }
  }

  function onPointerCancel(e) {
    if (!gesture || e.pointerId !== gesture.id) return;
    if (gesture.kind === "area" && gesture.moved) {
      if (pending) showMarker(pending); else if (marker) marker.remove();
    }
    gesture = null;
  }

  // ---- Keyboard: Enter on a focused page pins its middle, arrows move the pin, Enter writes.

  var ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  function onKeyDown(e) {
    var frame = e.target;
    if (!frame.classList || !frame.classList.contains("page-frame")) return;
    var page = pageOf(frame);
    var mine = pending && pending.page === page;
    if (e.key === "Enter") {
      e.preventDefault();
      if (mine && textarea) textarea.focus();
      else setPending({ page: page, x: 0.5, y: 0.5 }, "key");
    } else if (e.key === "Escape" && mine) {
      clearPending();
    } else if (ARROWS[e.key] && mine) {
      e.preventDefault();
      var d = ARROWS[e.key];
      setPending({ page: page, w: pending.w, h: pending.h,
                   x: clamp(pending.x + d[0] * STEP, 0, 1 - pending.w),
                   y: clamp(pending.y + d[1] * STEP, 0, 1 - pending.h) }, "key");
    }
  }

  function makeFramesFocusable() {
    var count = viewer.getAttribute("data-page-count");
    viewer.querySelectorAll(".page-frame").forEach(function (frame) {
      if (!frame.querySelector(".page-canvas")) return;
      frame.tabIndex = 0;
      frame.setAttribute("role", "group");
      frame.setAttribute("aria-label", "Page " + pageOf(frame) + " of " + count +
        ": press Enter to pin a comment to its middle, arrow keys to move the pin, " +
        "Enter again to write the comment");
    });
  }

  if (viewer) {
    viewer.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var how = button.getAttribute("data-zoom");
        setZoom(how === "in" ? zoom * 1.5 : how === "out" ? zoom / 1.5 : 1);
      });
    });
    viewer.addEventListener("wheel", function (e) {
      if (!e.ctrlKey) return;
      e.preventDefault();
      setZoom(e.deltaY < 0 ? zoom * 1.15 : zoom / 1.15);
    }, { passive: false });
    window.addEventListener("resize", apply);
    drawSavedPins();
    apply();

    if (form) {
      viewer.addEventListener("pointerdown", onPointerDown);
      viewer.addEventListener("pointermove", onPointerMove);
      viewer.addEventListener("pointerup", onPointerUp);
      viewer.addEventListener("pointercancel", onPointerCancel);
      viewer.addEventListener("keydown", onKeyDown);
      clearButton.addEventListener("click", function () { clearPending(); });
      makeFramesFocusable();
      restorePending();
    }
    viewer.addEventListener("click", function (e) {
      var pin = e.target.closest("a.pin");
      if (!pin) return;
      e.preventDefault();
      select(pin.getAttribute("data-pin"), "pin");
    });
    document.querySelectorAll("a.pin-ref[data-pin-ref]").forEach(function (ref) {
      ref.addEventListener("click", function (e) {
        e.preventDefault();
        select(ref.getAttribute("data-pin-ref"), "ref");
      });
    });
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

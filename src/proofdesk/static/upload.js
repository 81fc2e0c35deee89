// Shows a progress bar while a proof file uploads; without JavaScript the form posts as usual.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData) return;
      event.preventDefault();
      var box = form.querySelector(".upload-progress");
      var bar = box.querySelector("progress");
      var text = box.querySelector(".upload-progress-text");
      var button = form.querySelector("button[type=submit]");
      box.hidden = false;
      button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.round((e.loaded / e.total) * 100);
        bar.value = pct;
        text.textContent = pct < 100 ? pct + "% uploaded" : "Uploaded; preparing the preview…";
      });
      xhr.addEventListener("load", function () {
        // The request followed the redirect and already fetched the next page, taking its
        // one-time message ("Proof uploaded…"). Show that page as it came: loading it again
        // would lose the message.
        if (xhr.responseURL) window.history.replaceState(null, "", xhr.responseURL);
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        box.hidden = true;
        button.disabled = false;
        window.alert("The upload did not reach the server. Check your connection and try again.");
      });
      xhr.send(new FormData(form));
    });
  });
})();

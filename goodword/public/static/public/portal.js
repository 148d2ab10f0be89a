// The portal's buttons that need a script: copy the link, and the device's own share sheet
// (only where the browser has one). Both stay hidden without a script; the page works without.
// Each use is counted by a POST to /p/shared with the page's CSRF token.
(function () {
  var link = document.getElementById("link");
  var status = document.getElementById("status");
  var form = document.getElementById("shared");
  if (!link || !form) return;

  function record(channel) {
    var data = new FormData(form);
    data.append("channel", channel);
    return fetch(form.action, { method: "POST", body: data, credentials: "same-origin" }).catch(
      function () {}
    );
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  var copy = document.getElementById("copy");
  if (copy) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var done = function () {
        say(copy.getAttribute("data-copied"));
        record("copy");
      };
      var failed = function () {
        link.select();
        say(copy.getAttribute("data-failed"));
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(link.value).then(done, failed);
      } else {
        link.select();
        if (document.execCommand("copy")) done();
        else failed();
      }
    });
  }

  var native = document.getElementById("native");
  var message = document.getElementById("message");
  if (native && typeof navigator.share === "function") {
    native.hidden = false;
    native.addEventListener("click", function () {
      var tagged = link.value + "?via=native";
      var text = message ? message.value.split(link.value).join("").trim() : "";
      navigator
        .share({ title: native.getAttribute("data-title") || "", text: text, url: tagged })
        .then(function () {
          record("native");
        })
        .catch(function () {
          // Closed without sharing: nothing to count.
        });
    });
  }
})();

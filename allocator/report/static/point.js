// The handover page at the point. The page works without this script; with it the
// handover is sent with fetch so that a dropped connection keeps what was typed, the
// IMEI's check digit is checked as a hint (the server decides), and where the browser
// has a barcode detector the camera reads the slip's QR code. Nothing is fetched but
// the page's own server.
(function () {
  "use strict";

  function luhnValid(digits) {
    var total = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = Number(digits.charAt(digits.length - 1 - i));
      if (i % 2 === 1) { d = d * 2; if (d > 9) d -= 9; }
      total += d;
    }
    return digits.length > 1 && total % 10 === 0;
  }
  function compact(text) { return text.replace(/[\s-]/g, ""); }

  function slot(form, name) {
    return form.querySelector("#err-" + name) || form.querySelector("#err-form") ||
      form.querySelector(".field-error");
  }
  function say(box, message, hint) {
    if (!box) return;
    box.textContent = message;
    box.classList.toggle("hint", !!hint);
    box.hidden = !message;
  }
  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (box) { say(box, ""); });
  }

  // A hint on the IMEI and ICCID as they are typed: the server's check stays the rule.
  function hintDigits(form, name, fits, luhnMessage, lengthMessage) {
    var input = form.querySelector("#" + name), box = form.querySelector("#err-" + name);
    if (!input || !box) return;
    var check = function (final) {
      var digits = compact(input.value), message = "";
      if (/^[0-9]+$/.test(digits)) {
        var fit = fits(digits.length);
        if (fit === "ok" && !luhnValid(digits)) message = luhnMessage;
        else if (fit === "over" || (final && fit === "short")) message = lengthMessage;
      }
      // A hint replaces only a hint: the server's message stays until the field is edited.
      if (box.hidden || box.classList.contains("hint")) say(box, message, true);
    };
    input.addEventListener("input", function () {
      if (!box.classList.contains("hint")) say(box, "");
      check(false);
    });
    input.addEventListener("blur", function () { check(true); });
  }

  // The identity exception: a note is needed when a relative collects.
  function authorised(form) {
    var box = form.querySelector("#authorised"), notes = form.querySelector("#authorised-box");
    if (!box || !notes) return;
    var show = function () {
      notes.hidden = !box.checked;
      form.querySelector("#authorised_note").required = box.checked;
    };
    box.addEventListener("change", show);
    show();
  }

  // Send with fetch; on a dropped connection keep everything and offer to send again with
  // the same idempotency key, so that a send that did arrive is recorded once.
  function sendWithFetch(form) {
    var button = form.querySelector("button[type=submit]");
    var offline = form.querySelector(".offline");
    var label = button ? button.textContent : "";
    var busy = false;
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.URLSearchParams) return;  // the plain POST still works
      event.preventDefault();
      if (busy) return;
      busy = true;
      clearErrors(form);
      if (button) { button.disabled = true; button.textContent = form.dataset.sending; }
      var body = new URLSearchParams(new FormData(form));
      fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
                          headers: {"Accept": "application/json"}})
        .then(function (response) {
          var type = response.headers.get("content-type") || "";
          return (type.indexOf("application/json") >= 0 ? response.json() : response.text())
            .then(function (content) { return {status: response.status, content: content}; });
        })
        .then(function (answer) {
          if (offline) offline.hidden = true;
          var json = typeof answer.content === "object" ? answer.content : null;
          if (json && json.ok) { window.location.assign(json.url); return; }
          busy = false;
          if (button) { button.disabled = false; button.textContent = label; }
          var message = json ? json.message : refusal(answer);
          var where = json && json.field ? json.field : "form";
          say(slot(form, where), message);
          var input = json && json.field ? form.querySelector("[name=" + json.field + "]") : null;
          if (input) { input.focus(); input.scrollIntoView({block: "center"}); }
        })
        .catch(function () {
          busy = false;
          if (button) { button.disabled = false; button.textContent = form.dataset.resend; }
          if (offline) { offline.hidden = false; offline.scrollIntoView({block: "center"}); }
        });
    });
  }
  // An answer that is a page (a refusal: the form expired, another point's household):
  // its message, read without running anything in it.
  function refusal(answer) {
    try {
      var doc = new DOMParser().parseFromString(String(answer.content), "text/html");
      var text = doc.querySelector("p.error");
      if (text) return text.textContent;
    } catch (e) { /* fall through */ }
    return "HTTP " + answer.status;
  }

  document.querySelectorAll("form[data-fetch]").forEach(function (form) {
    sendWithFetch(form);
    authorised(form);
    hintDigits(form, "imei", function (n) { return n === 15 ? "ok" : n > 15 ? "over" : "short"; },
               form.dataset.imeiLuhn, form.dataset.imeiLength);
    hintDigits(form, "iccid", function (n) {
      return n === 19 || n === 20 ? "ok" : n > 20 ? "over" : "short";
    }, form.dataset.iccidLuhn, "");
  });

  // The camera reads the slip's QR code where the browser has a barcode detector
  // (Chrome on Android); elsewhere the button stays hidden and the code is typed.
  var scan = document.getElementById("scan"), search = document.getElementById("search-form");
  var canScan = "BarcodeDetector" in window && navigator.mediaDevices &&
    navigator.mediaDevices.getUserMedia;
  if (!scan || !search || !canScan) return;
  var scanner = document.getElementById("scanner"), video = document.getElementById("scan-video");
  var failed = document.getElementById("scan-error"), box = document.getElementById("q");
  Promise.resolve(window.BarcodeDetector.getSupportedFormats ?
                  window.BarcodeDetector.getSupportedFormats() : ["qr_code"])
    .then(function (formats) { scan.hidden = formats.indexOf("qr_code") < 0; })
    .catch(function () { scan.hidden = true; });
  var stream = null;
  function stop() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    scanner.hidden = true;
  }
  function codeOf(text) {
    // A slip's QR code holds the code; a link with ?q=CODE is read too.
    var found = /[?&]q=([^&#]+)/.exec(text);
    return (found ? decodeURIComponent(found[1]) : text).trim();
  }
  document.getElementById("scan-close").addEventListener("click", stop);
  scan.addEventListener("click", function () {
    failed.hidden = true;
    var detector = new window.BarcodeDetector({formats: ["qr_code"]});
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false})
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        scanner.hidden = false;
        var played = video.play();
        if (played && played.catch) played.catch(function () { /* muted: plays anyway */ });
        var look = function () {
          if (!stream) return;
          detector.detect(video).then(function (codes) {
            if (codes.length && codes[0].rawValue) {
              stop();
              box.value = codeOf(codes[0].rawValue);
              search.submit();
            } else {
              setTimeout(look, 250);
            }
          }).catch(function () { setTimeout(look, 500); });
        };
        look();
      })
      .catch(function () { stop(); failed.hidden = false; });
  });
})();

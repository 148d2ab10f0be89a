/* Goodword widget and first-party snippet. Docs: docs/sharing-widget.md
   <script src="https://goodword.example/widget.js" data-key="gw_pk_..." defer></script>
   No inline script or style is needed (styles are a constructed stylesheet in a shadow root),
   and nothing is fetched from anywhere but the Goodword server that served this file. */
(function () {
  "use strict";
  var W = window, D = document;
  var queued = Array.isArray(W.Goodword) ? W.Goodword : [];
  if (W.Goodword && W.Goodword.ref) return;
  var tag = D.currentScript || D.querySelector("script[data-key]");
  var ds = (tag && tag.dataset) || {};
  var base = tag && tag.src ? new URL(tag.src, location.href).origin : "";
  var lang = String(ds.lang || D.documentElement.lang || "en").slice(0, 2).toLowerCase();
  var T = {
    en: {
      fab: "Refer a friend", title: "Refer a friend", close: "Close", link: "Your link",
      code: "Your code", copy: "Copy link", copied: "Link copied", share: "Share",
      shareBy: "Share by", native: "More…", portal: "Your referrals and rewards",
      join: "Get my link", joined: "Your link is ready", notEligible:
        "The program is not open to your account yet.", signIn:
        "Sign in to get your personal link.", signInLink: "Sign in", thanks:
        "Thanks for your order!", banner: "Before you go: invite a friend", bannerOffer:
        "Before you go: give a friend ", bannerCta:
        "Refer a friend", dismiss: "Dismiss", error: "Something went wrong. Try again later.",
      newTab: "(opens in a new tab)"
    },
    it: {
      fab: "Invita un amico", title: "Invita un amico", close: "Chiudi", link: "Il tuo link",
      code: "Il tuo codice", copy: "Copia il link", copied: "Link copiato", share: "Condividi",
      shareBy: "Condividi via", native: "Altro…", portal: "I tuoi inviti e premi",
      join: "Ottieni il mio link", joined: "Il tuo link è pronto", notEligible:
        "Il programma non è ancora aperto al tuo account.", signIn:
        "Accedi per ottenere il tuo link personale.", signInLink: "Accedi", thanks:
        "Grazie per il tuo ordine!", banner: "Prima di andare: invita un amico", bannerOffer:
        "Prima di andare: regala a un amico ", bannerCta:
        "Invita un amico", dismiss: "Chiudi l’avviso", error:
        "Qualcosa è andato storto. Riprova più tardi.", newTab: "(si apre in una nuova scheda)"
    }
  };
  if (!T[lang]) lang = "en";
  var t = T[lang];

  /* ---- the first-party snippet: keep gw_ref on the business's own domain ---- */
  var REF = "gw_ref", VALID = /^[A-Za-z0-9._~-]{1,200}$/;
  var days = Math.min(Math.max(parseInt(ds.days || "30", 10) || 30, 1), 400);
  var consented = ds.consent !== "required";
  var fromUrl = null;
  try { fromUrl = new URLSearchParams(location.search).get(REF); } catch (e) { /* old browser */ }
  if (fromUrl && !VALID.test(fromUrl)) fromUrl = null;

  function cookie(value, maxAge) {
    D.cookie = REF + "=" + value + "; Max-Age=" + maxAge + "; Path=/; SameSite=Lax" +
      (ds.cookieDomain ? "; Domain=" + ds.cookieDomain : "") +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function store(name, value) {
    try {
      if (value === null) W.localStorage.removeItem(name);
      else W.localStorage.setItem(name, value);
    } catch (e) { /* storage off */ }
  }
  function keep() {
    if (!fromUrl || !consented) return;
    cookie(fromUrl, days * 86400);
    store(REF, JSON.stringify({ v: fromUrl, until: Date.now() + days * 864e5 }));
  }
  function stored() {
    var m = D.cookie.match(/(?:^|;\s*)gw_ref=([^;]+)/);
    if (m && VALID.test(m[1])) return m[1];
    try {
      var s = JSON.parse(W.localStorage.getItem(REF) || "null");
      if (s && s.until > Date.now() && VALID.test(s.v)) return s.v;
    } catch (e) { /* storage off or junk */ }
    return null;
  }
  keep();

  var api = {
    ref: function () { return fromUrl || stored(); },
    consent: function (yes) {
      consented = !!yes;
      if (consented) keep();
      else { cookie("", 0); store(REF, null); }
    },
    postPurchase: function () { ready(function () { open("thanks"); }); },
    open: function () { ready(function () { open(""); }); },
    close: function () { close(); },
    // Calls queued before the script ran, and the same form after: Goodword.push(["open"]).
    push: function (q) { if (api[q[0]]) api[q[0]].apply(null, q.slice(1)); }
  };
  W.Goodword = api;

  /* ---- the widget: only with a publishable key ---- */
  var state = null, waiting = [], ui = null, lastFocus = null, announced = false;
  function ready(fn) { if (state) fn(); else waiting.push(fn); }

  function call(path, extra) {
    var body = { customer: ds.customer || "", signature: ds.signature || "", lang: lang,
      program: ds.program || "" };
    for (var k in extra) body[k] = extra[k];
    return fetch(base + "/w/v1/" + path, {
      method: "POST", mode: "cors", credentials: "omit", keepalive: path === "shares",
      headers: { "Authorization": "Bearer " + ds.key, "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw j; return j; });
    });
  }
  function warn(err) {
    if (W.console && !announced) {
      announced = true;
      W.console.warn("Goodword widget:", (err && err.error && err.error.message) || err);
    }
  }

  function h(name, attrs, kids) {
    var el = D.createElement(name);
    for (var k in attrs || {}) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "on") el.addEventListener("click", attrs[k]);
      else if (attrs[k] !== null) el.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }

  var CSS =
    ":host{all:initial;--c:#2f5bd3;font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1c1f26}" +
    "*{box-sizing:border-box;font:inherit}" +
    "button,.btn{cursor:pointer;border:0;border-radius:8px;padding:10px 14px;background:var(--c);color:#fff;font-weight:600;text-decoration:none;display:inline-block;min-height:44px}" +
    "button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #111;outline-offset:2px;box-shadow:0 0 0 5px #fff}" +
    ".fab{position:fixed;right:16px;bottom:16px;z-index:2147483000;border-radius:999px;padding:12px 20px;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".back{position:fixed;inset:0;background:rgba(15,18,25,.45);z-index:2147483001}" +
    ".panel{position:fixed;right:16px;bottom:16px;z-index:2147483002;width:min(380px,calc(100vw - 32px));max-height:calc(100vh - 32px);overflow:auto;background:#fff;border-radius:14px;padding:20px;box-shadow:0 12px 40px rgba(0,0,0,.3)}" +
    ".pop{right:50%;bottom:50%;transform:translate(50%,50%)}" +
    "[hidden]{display:none!important}" +
    ".head{display:flex;align-items:center;justify-content:space-between;gap:12px;margin-bottom:8px}" +
    "h2{margin:0;font-size:20px;line-height:1.3;font-weight:700}" +
    ".x{background:transparent;color:#1c1f26;padding:4px 10px;font-size:22px;line-height:1;min-height:44px;min-width:44px}" +
    "p{margin:0 0 12px}" +
    "label{display:block;font-weight:600;font-size:14px;margin:0 0 4px}" +
    ".row{display:flex;gap:8px;margin-bottom:12px}" +
    "input{flex:1;min-width:0;border:1px solid #767b86;border-radius:8px;padding:10px;background:#f7f8fa;color:#1c1f26;font-size:15px}" +
    ".code{font-size:14px;color:#4a505c}.code b{color:#1c1f26;letter-spacing:.04em}" +
    "ul{list-style:none;margin:0 0 12px;padding:0;display:flex;flex-wrap:wrap;gap:8px}" +
    "ul .btn{background:#eef1f7;color:#1c1f26;font-weight:500;padding:8px 12px;font-size:14px;min-height:44px;line-height:28px}" +
    "h3{font-size:14px;font-weight:600;margin:0 0 6px}" +
    ".portal{color:var(--c);font-weight:600;text-decoration:underline}" +
    ".live{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    ".ok{color:#1d6b37;font-weight:600;margin:-4px 0 12px}.ok:empty{display:none}" +
    ".banner{position:fixed;left:0;right:0;top:0;z-index:2147483000;background:#fff;border-bottom:4px solid var(--c);box-shadow:0 4px 16px rgba(0,0,0,.2);padding:12px 16px;display:flex;align-items:center;justify-content:center;gap:12px;flex-wrap:wrap}" +
    ".banner p{margin:0;font-weight:600}";

  function build(color) {
    var host = h("div", { "data-goodword": "" });
    var root = host.attachShadow({ mode: "open" });
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    if (/^#[0-9a-fA-F]{6}$/.test(color)) sheet.insertRule(":host{--c:" + color + "}", sheet.cssRules.length);
    root.adoptedStyleSheets = [sheet];
    var fab = h("button", { "class": "fab", type: "button", "aria-haspopup": "dialog",
      "aria-expanded": "false", text: t.fab, on: function () { open(""); } });
    var back = h("div", { "class": "back", hidden: "" });
    back.addEventListener("click", close);
    var title = h("h2", { id: "gw-title", text: t.title });
    var body = h("div");
    var panel = h("div", { "class": "panel", role: "dialog", "aria-modal": "true",
      "aria-labelledby": "gw-title", hidden: "" }, [
      h("div", { "class": "head" }, [title, h("button", { "class": "x", type: "button",
        "aria-label": t.close, text: "×", on: close })]),
      body
    ]);
    panel.addEventListener("keydown", trap);
    var live = h("div", { "class": "live", "aria-live": "polite" });
    if (ds.button !== "off") root.appendChild(fab);
    [back, panel, live].forEach(function (el) { root.appendChild(el); });
    D.body.appendChild(host);
    return { root: root, fab: fab, back: back, panel: panel, title: title, body: body, live: live };
  }

  function focusables() {
    return Array.prototype.filter.call(
      ui.panel.querySelectorAll("a[href],button:not([disabled]),input"),
      function (el) { return !el.closest("[hidden]"); });
  }
  function trap(e) {
    if (e.key === "Escape") { e.preventDefault(); close(); return; }
    if (e.key !== "Tab") return;
    var all = focusables(), first = all[0], last = all[all.length - 1];
    var active = ui.root.activeElement;
    if (e.shiftKey && active === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && active === last) { e.preventDefault(); first.focus(); }
  }

  function open(mode) {
    if (!ui) return;
    hideBanner();
    lastFocus = ui.root.activeElement || D.activeElement;
    ui.title.textContent = mode === "thanks" ? t.thanks : t.title;
    ui.panel.className = mode === "thanks" ? "panel pop" : "panel";
    render();
    ui.panel.hidden = false;
    ui.back.hidden = false;
    ui.fab.setAttribute("aria-expanded", "true");
    ui.fab.hidden = true;
    var input = ui.panel.querySelector("input");
    (input || focusables()[0]).focus();
  }
  function close() {
    if (!ui || ui.panel.hidden) return;
    ui.panel.hidden = true;
    ui.back.hidden = true;
    ui.fab.setAttribute("aria-expanded", "false");
    ui.fab.hidden = false;
    var to = lastFocus && lastFocus.isConnected && lastFocus !== D.body ? lastFocus : ui.fab;
    if (to.focus) to.focus();
  }
  function say(text) {
    ui.live.textContent = "";
    setTimeout(function () { ui.live.textContent = text; }, 50);
  }

  function shareUrl(channel, c) {
    var link = encodeURIComponent(c.link + "?via=" + channel);
    var msg = encodeURIComponent(c.message);
    var both = encodeURIComponent(c.message + " " + c.link + "?via=" + channel);
    return {
      email: "mailto:?subject=" + encodeURIComponent(state.program.name) + "&body=" + both,
      sms: "sms:?&body=" + both,
      whatsapp: "https://wa.me/?text=" + both,
      telegram: "https://t.me/share/url?url=" + link + "&text=" + msg,
      facebook: "https://www.facebook.com/sharer/sharer.php?u=" + link,
      x: "https://twitter.com/intent/tweet?text=" + msg + "&url=" + link,
      linkedin: "https://www.linkedin.com/sharing/share-offsite/?url=" + link
    }[channel];
  }
  var NAMES = { email: "Email", sms: "SMS", whatsapp: "WhatsApp", telegram: "Telegram",
    facebook: "Facebook", x: "X", linkedin: "LinkedIn" };

  function record(channel) { call("shares", { channel: channel }).catch(warn); }

  function copy(c, input, note) {
    function done() { note.textContent = t.copied; say(t.copied); record("copy"); }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(c.link).then(done, function () { input.select(); done(); });
    } else { input.select(); D.execCommand("copy"); done(); }
  }

  function render() {
    var c = state.customer, p = state.program, kids = [];
    if (p.intro) kids.push(h("p", { text: p.intro }));
    if (c && c.enrolled) {
      var input = h("input", { id: "gw-link", type: "text", readonly: "", value: c.link,
        spellcheck: "false" });
      var note = h("p", { "class": "ok" });
      var list = h("ul", { "aria-label": t.shareBy });
      if (navigator.share) {
        list.appendChild(h("li", {}, [h("button", { "class": "btn", type: "button", text: t.native,
          on: function () {
            navigator.share({ text: c.message, url: c.link + "?via=native" })
              .then(function () { record("native"); }, function () { /* cancelled */ });
          } })]));
      }
      Object.keys(NAMES).forEach(function (ch) {
        var web = /^https/.test(shareUrl(ch, c));
        list.appendChild(h("li", {}, [h("a", { "class": "btn", href: shareUrl(ch, c),
          target: web ? "_blank" : null, rel: web ? "noopener" : null,
          "aria-label": NAMES[ch] + (web ? " " + t.newTab : ""), text: NAMES[ch],
          on: function () { record(ch); } })]));
      });
      kids.push(
        h("label", { "for": "gw-link", text: t.link }),
        h("div", { "class": "row" }, [input, h("button", { type: "button", text: t.copy,
          on: function () { copy(c, input, note); } })]),
        note,
        h("p", { "class": "code" }, [D.createTextNode(t.code + ": "), h("b", { text: c.code })]),
        h("h3", { text: t.share }),
        list,
        h("p", {}, [h("a", { "class": "portal", href: c.portal_url, target: "_blank",
          rel: "noopener", text: t.portal + " " + t.newTab })])
      );
    } else if (c && c.can_enrol) {
      kids.push(h("button", { type: "button", text: t.join, on: function (e) {
        e.target.disabled = true;
        call("enrol", {}).then(function (s) {
          state = s; render(); say(t.joined);
          var i = ui.panel.querySelector("input"); if (i) i.focus();
        }, function (err) { e.target.disabled = false; say(t.error); warn(err); });
      } }));
    } else if (c) {
      kids.push(h("p", { text: t.notEligible }));
    } else {
      kids.push(h("p", { text: t.signIn }));
      var signin = ds.signin ? new URL(ds.signin, location.href) : null;
      if (signin && /^https?:$/.test(signin.protocol)) {
        kids.push(h("a", { "class": "btn", href: signin.href, text: t.signInLink }));
      }
    }
    ui.body.replaceChildren.apply(ui.body, kids);
  }

  /* ---- exit intent: desktop only, once a session, dismissible ---- */
  var banner = null;
  function hideBanner() { if (banner) { banner.remove(); banner = null; } }
  function exitIntent() {
    if (ds.exitIntent === "off" || !W.matchMedia || !W.matchMedia("(pointer: fine)").matches) return;
    try { if (W.sessionStorage.getItem("gw_exit")) return; } catch (e) { return; }
    function leave(e) {
      if (e.relatedTarget || e.clientY > 0 || !ui.panel.hidden) return;
      D.removeEventListener("mouseout", leave);
      try { W.sessionStorage.setItem("gw_exit", "1"); } catch (err) { /* storage off */ }
      var offer = state.program.offer.friend;
      banner = h("div", { "class": "banner", role: "region", "aria-label": t.bannerCta }, [
        h("p", { text: offer ? t.bannerOffer + offer : t.banner }),
        h("button", { type: "button", text: t.bannerCta, on: function () { open(""); } }),
        h("button", { "class": "x", type: "button", "aria-label": t.dismiss, text: "×",
          on: hideBanner })
      ]);
      banner.addEventListener("keydown", function (k) { if (k.key === "Escape") hideBanner(); });
      ui.root.appendChild(banner);
    }
    D.addEventListener("mouseout", leave);
  }

  function start() {
    call("session", {}).then(function (s) {
      state = s;
      ui = build(s.program.color);
      exitIntent();
      if (ds.postPurchase !== undefined) open("thanks");
      waiting.splice(0).forEach(function (fn) { fn(); });
    }, warn);
  }
  if (ds.key && base) {
    if (D.readyState === "loading") D.addEventListener("DOMContentLoaded", start);
    else start();
  }
  queued.forEach(api.push);
})();

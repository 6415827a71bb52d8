/* Vouch landing-page snippet: keeps the click id (`vclid`) a tracked link adds to the landing
   URL and hands it to checkout, where the shop's order webhook carries it back to Vouch.

   - Reads `vclid` from the landing URL; keeps it 30 days in localStorage and a first-party
     cookie named `vclid` (the newest click wins, as attribution's last click does).
   - Shopify: puts it in the cart attributes (`/cart/update.js`), which become the order's
     `note_attributes` (Vouch reads the one named `vclid`).
   - Stripe Checkout: `window.vouch.vclid` is what to pass as `client_reference_id` (or
     `metadata.vclid`) when your server creates the Checkout Session, and
     `window.vouch.referrer` (the last page of another site that sent the shopper here, kept in
     localStorage) as `metadata.referrer`: Stripe knows no referrer, and Vouch checks it
     against coupon and deal sites. Shopify and WooCommerce record the referrer themselves.
   - WooCommerce: the `vclid` cookie is read at checkout by the PHP hook in the README, which
     saves it as the order meta `_vclid`.
   Only ids of the tracker's alphabet (1-32 of A-Z a-z 0-9 _ -) are kept. */
(function (w, d) {
  "use strict";
  var NAME = "vclid";
  var DAYS = 30;
  var ID = /^[A-Za-z0-9_-]{1,32}$/;

  function fromUrl(href) {
    var match = /[?&]vclid=([^&#]*)/.exec(href || "");
    if (!match) return null;
    var value;
    try {
      value = decodeURIComponent(match[1].replace(/\+/g, " "));
    } catch (e) {
      return null;
    }
    return ID.test(value) ? value : null;
  }

  function stored() {
    try {
      var kept = w.localStorage.getItem(NAME);
      if (kept && ID.test(kept)) return kept;
    } catch (e) { /* storage blocked: the cookie still works */ }
    var match = /(?:^|;\s*)vclid=([A-Za-z0-9_-]{1,32})(?:;|$)/.exec(d.cookie || "");
    return match ? match[1] : null;
  }

  function remember(value) {
    try {
      w.localStorage.setItem(NAME, value);
    } catch (e) { /* storage blocked */ }
    var secure = w.location.protocol === "https:" ? "; Secure" : "";
    d.cookie = NAME + "=" + value + "; Max-Age=" + DAYS * 86400 + "; Path=/; SameSite=Lax" + secure;
  }

  // The page of another site the shopper came from: a newer outside page replaces it, moving
  // between the shop's own pages keeps it (a query string may hold a code: dropped; at most
  // 500 characters, what a Stripe metadata value holds).
  function outsideReferrer() {
    var ref = d.referrer || "";
    var host = /^https?:\/\/([^\/?#]+)/i.exec(ref);
    var here = /^https?:\/\/([^\/?#]+)/i.exec(w.location.href || "");
    if (!host || (here && host[1].toLowerCase() === here[1].toLowerCase())) return null;
    return ref.split(/[?#]/)[0].slice(0, 500);
  }

  var referrer = outsideReferrer();
  try {
    if (referrer) w.localStorage.setItem("vreferrer", referrer);
    else referrer = w.localStorage.getItem("vreferrer");
  } catch (e) { /* storage blocked: this page's referrer only */ }

  var vclid = fromUrl(w.location.href);
  if (vclid) remember(vclid);
  else vclid = stored();

  function shopifyCart() {
    if (!vclid || !w.fetch) return Promise.resolve(null);
    return w.fetch("/cart/update.js", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ attributes: { vclid: vclid } })
    });
  }

  w.vouch = { vclid: vclid, referrer: referrer, fromUrl: fromUrl, shopifyCart: shopifyCart };
  if (vclid && w.Shopify) shopifyCart();
})(window, document);

// Runs api/static/vclid.js in stand-in browser pages (tests/shops/test_landing_snippet.py).
const fs = require("fs");
const source = fs.readFileSync(process.argv[2], "utf8");
function page(href, cookie, storage, shopify, referrer) {
  const calls = [];
  const store = Object.assign({}, storage);
  const window = {
    location: { href: href, protocol: href.split(":")[0] + ":" },
    localStorage: {
      getItem: (k) => (k in store ? store[k] : null),
      setItem: (k, v) => { store[k] = String(v); },
    },
    fetch: (url, options) => {
      calls.push({ url: url, body: JSON.parse(options.body) });
      return Promise.resolve({});
    },
  };
  if (shopify) window.Shopify = {};
  const document = { cookie: cookie, referrer: referrer || "" };
  new Function("window", "document", source)(window, document);
  return { vclid: window.vouch.vclid, referrer: window.vouch.referrer, cookie: document.cookie, storage: store, calls: calls };
}
const landed = page("https://shop.example.com/p/x?utm_source=ig&vclid=Ab_9-z&x=1", "", {}, true);
const later = page("https://shop.example.com/cart", landed.cookie.split(";")[0], {}, false);
const storedOnly = page("https://shop.example.com/", "", landed.storage, false);
const forged = page("https://shop.example.com/?vclid=%3Cscript%3E", "", {}, true);
const newer = page("https://shop.example.com/?vclid=Newer1", "", landed.storage, false);
// A shopper sent by a coupon site (no click id), then moving on to the shop's cart.
const deal = page("https://shop.example.com/p/x", "", {}, false, "https://www.dealabs.com/bons-plans/x?code=1");
const onward = page("https://shop.example.com/cart", "", deal.storage, false, "https://shop.example.com/p/x");
console.log(JSON.stringify({ landed, later, storedOnly, forged, newer, deal, onward }));

// The portal's two bits of behaviour: copy a link, and check a caption's disclosure as it is
// typed (the API's checkDisclosure query, sent with the session cookie and the CSRF header).
"use strict";
(function () {
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copy).textContent;
      var status = button.parentElement.querySelector(".copied");
      navigator.clipboard.writeText(text).then(
        function () { status.textContent = "Copied"; },
        function () { status.textContent = "Select the link and copy it"; }
      );
    });
  });

  var QUERY = "query Check($input: CheckDisclosureInput!) { checkDisclosure(input: $input) " +
    "{ worstVerdict results { jurisdiction verdict findings { message severity } } } }";

  function show(box, report) {
    box.textContent = "";
    var verdict = document.createElement("p");
    verdict.className = "verdict " + (report.worstVerdict || "PASS").toLowerCase();
    verdict.textContent = "Disclosure: " + (report.worstVerdict || "PASS").replace("_", " ");
    box.appendChild(verdict);
    var list = document.createElement("ul");
    report.results.forEach(function (result) {
      result.findings.forEach(function (finding) {
        var item = document.createElement("li");
        item.textContent = result.jurisdiction + ": " + finding.message;
        list.appendChild(item);
      });
    });
    if (list.children.length) box.appendChild(list);
  }

  document.querySelectorAll("textarea.caption").forEach(function (area) {
    var box = document.getElementById(area.getAttribute("aria-describedby"));
    var timer = null;
    var sent = 0;
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++sent;
        // the partnership's material connection and the campaign's markets, as a review checks
        var input = { caption: area.value, platform: area.dataset.platform,
                      format: area.dataset.format, connection: area.dataset.connection };
        var markets = area.dataset.jurisdictions.split(" ").filter(Boolean);
        if (markets.length) input.jurisdictions = markets;
        fetch("/graphql", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ query: QUERY, variables: { input: input } })
        }).then(function (r) { return r.json(); }).then(function (body) {
          if (mine !== sent) return; // an older answer arriving late
          if (body.data) show(box, body.data.checkDisclosure);
          else box.textContent = "The check is unavailable: " + body.errors[0].message;
        }, function () { box.textContent = "The check is unavailable (offline?)"; });
      }, 250);
    });
  });
})();

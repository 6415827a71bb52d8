// Vouch's GraphiQL page (ours, not vendored): the IDE against the /graphql it was served from.
// Every operation needs an API key; the headers tab opens with the line to complete.
(function () {
  "use strict";

  var DEFAULT_QUERY = [
    "# Vouch GraphQL API",
    "#",
    "# Every query needs an API key: put yours in the Headers tab below as",
    '#   {"Authorization": "Bearer vch_..."}',
    "# (`make run` prints one per role), then run with Ctrl-Enter or the play button.",
    "# The schema explorer (Docs, on the left) fills in once a key is set:",
    "# re-fetch the schema with Shift-Ctrl-R.",
    "",
    "{",
    "  viewer {",
    "    role",
    "    organization { id name }",
    "  }",
    "  brands(first: 5) {",
    "    totalCount",
    "    edges { node { id name } }",
    "  }",
    "}",
    "",
  ].join("\n");

  var DEFAULT_HEADERS = '{\n  "Authorization": "Bearer "\n}\n';

  var fetcher = GraphiQL.createFetcher({ url: window.location.href.split(/[?#]/)[0] });

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: DEFAULT_HEADERS,
      defaultEditorToolsVisibility: "headers",
      // a key is a secret: keep it out of the browser's localStorage
      shouldPersistHeaders: false,
    }),
  );
})();

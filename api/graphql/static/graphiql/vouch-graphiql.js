// Vouch's GraphiQL page (ours, not vendored): the IDE against the /graphql it was served from.
// Every operation needs an API key; the headers tab opens with the line to complete.
(function () {
  "use strict";

  var DEFAULT_QUERY = [
    "# Vouch GraphQL API",
    "#",
    "# Every request needs an API key. Put yours in",
    "# the Headers tab below:",
    '#   {"Authorization": "Bearer vch_..."}',
    "# (`make run` prints one per role), then run",
    "# with Ctrl-Enter or the play button. For the",
    "# Docs explorer, press \"Re-fetch GraphQL",
    "# schema\" (bottom left) once the key is set.",
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

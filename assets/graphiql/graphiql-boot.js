// Starts GraphiQL on the explorer page (src/api/graphql/explorer.rs). A served file rather than
// an inline script, so the page works under a Content-Security-Policy of script-src 'self'.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = root.getAttribute("data-endpoint") || "/graphql";
  var fetcher = GraphiQL.createFetcher({ url: new URL(endpoint, window.location.origin).toString() });
  var headers = JSON.stringify({ Authorization: "Bearer <your API key, dz_...>" }, null, 2);
  var query = [
    "# Every request needs a credential: put your API key (or a user or portal token) in the",
    "# Authorization header below, then run this query with the play button or Ctrl-Enter.",
    "# The schema (docs, completion) loads once a key is set: press the re-fetch button.",
    "query FirstCustomers {",
    "  customers(limit: 5) {",
    "    items { code name defaultCurrency }",
    "    nextCursor",
    "  }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: query,
      defaultHeaders: headers,
      // Open on the headers tab: nothing works without the Authorization header.
      defaultEditorToolsVisibility: "headers",
      // Credentials stay in this tab's memory, never in localStorage.
      shouldPersistHeaders: false,
    })
  );
})();

// Starts Swagger UI on the Healthcore /docs page. It is a file of its own, not an inline
// script, so that the page works under a Content-Security-Policy that allows scripts from
// 'self' only. The page passes the OpenAPI document's URL in data-spec-url.
// Written for Healthcore (not part of swagger-ui-dist).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    persistAuthorization: true, // a pasted Bearer token survives reloads
    tryItOutEnabled: true,
    validatorUrl: null, // never send the spec to a third-party validator
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();

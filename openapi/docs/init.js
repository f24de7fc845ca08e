// Starts Swagger UI on the docs page of openadr3-vtn (our own file, not part of swagger-ui-dist).
// Loaded from <BASE>/docs/init.js; the OpenAPI document is <BASE>/openapi.json, relative to the
// page <BASE>/docs, so the page also works behind a proxy that adds a path prefix.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No call to the public validator: the page works offline and talks only to this server.
    validatorUrl: null,
    displayRequestDuration: true,
    filter: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});

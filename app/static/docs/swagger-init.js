// Starts Swagger UI on /docs. A file rather than an inline script, so that a
// Content-Security-Policy of script-src 'self' allows the page. validatorUrl null: the
// page never asks validator.swagger.io (or anything else off this service) about the spec.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    validatorUrl: null,
    showExtensions: true,
    showCommonExtensions: true,
  });
});

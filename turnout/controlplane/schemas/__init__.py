"""Request and response bodies, one module per resource (docs/api.md is the contract).

Per resource: ``*Create`` (POST body), ``*Update`` (PATCH body, every field optional),
``*Public`` (what the API returns). Examples feed the OpenAPI document. ``common`` holds
what every resource shares (errors, pages, health, name checks).
"""

"""``GET /docs``: the API described on one plain page made from the app's OpenAPI schema.

FastAPI's own ``/docs`` loads Swagger UI's scripts from a CDN, which this server promises never
to need; this page has no script at all, and ``/openapi.json`` holds the full schema.
"""

from html import escape

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} API</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><main><h1>{title} {version}: the JSON API</h1><p>{description}</p>
<p>The whole schema, for tools: <a href="/openapi.json">/openapi.json</a>.</p>
{operations}</main></body></html>
"""
OPERATION = "<section><h2><code>{method} {path}</code>: {summary}</h2><p>{description}</p><ul>{responses}</ul></section>"


def api_docs_page(schema: dict) -> str:
    """The HTML of the docs page for an OpenAPI ``schema`` (a dict, as ``app.openapi()`` returns)."""
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            responses = "".join(f"<li><code>{escape(str(status))}</code> {escape(answer.get('description', ''))}</li>"
                                for status, answer in operation.get("responses", {}).items())
            operations.append(OPERATION.format(method=method.upper(), path=escape(path),
                                               summary=escape(operation.get("summary", "")),
                                               description=escape(operation.get("description", "")),
                                               responses=responses))
    info = schema.get("info", {})
    return PAGE.format(title=escape(info.get("title", "")), version=escape(info.get("version", "")),
                       description=escape(info.get("description", "")), operations="\n".join(operations))

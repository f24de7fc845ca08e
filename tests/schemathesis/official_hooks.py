"""Schemathesis hooks for the run against the official OpenADR 3.0.1 document (official.toml).

3.0.1 documents its error responses (400, 403, 404, 409, 500) as `application/json` with the
`problem` schema. The server sends them as `application/problem+json`, the media type RFC 7807
gives that schema, and our own document says so. The built-in content-type check is replaced by
this one, which accepts exactly that and nothing more: an error status, a received
`application/problem+json`, where the official document lists `application/json`. Every other
response is checked by the built-in check unchanged.
"""

import schemathesis
from schemathesis.openapi.checks import UndefinedContentType
from schemathesis.specs.openapi.checks import content_type_conformance


@schemathesis.check
def content_type_conformance_problem_json(ctx, response, case):
    try:
        return content_type_conformance(ctx, response, case)
    except UndefinedContentType as failure:
        received = failure.content_type.split(";")[0].strip().lower()
        if (
            response.status_code >= 400
            and received == "application/problem+json"
            and "application/json" in failure.defined_content_types
        ):
            return None
        raise

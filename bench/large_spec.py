#!/usr/bin/env python3
"""Print an OpenAPI 3.1 document (JSON) with N operations of realistic shape, for load timing.

    python3 bench/large_spec.py 40000 > /tmp/large.json
    target/release/evalmock check --spec /tmp/large.json

Every operation has a path parameter, a query parameter, a JSON request body that `$ref`s a
shared component schema, and 200 and 404 responses with `$ref`ed schemas. There are 48 shared
component schemas (objects with nested `$ref`s, arrays, enums, formats), so many operations
share each one, as in real large APIs. Operations come in pairs (PUT and POST) on N/2 paths.
Deterministic: the same N prints the same document.
"""

import json
import sys

SCHEMAS = 48


def component(i):
    props = {
        "id": {"type": "string", "pattern": "^[a-z]+_[0-9a-z]{26}$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "count": {"type": "integer", "minimum": 0, "maximum": 1000000},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1},
        "createdAt": {"type": "string", "format": "date-time"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
    }
    if i > 0:
        # A nested reference to another shared schema (acyclic: always a lower index).
        props["parent"] = {"$ref": f"#/components/schemas/Resource{(i * 7) % i}"}
        props["children"] = {
            "type": "array",
            "items": {"$ref": f"#/components/schemas/Resource{(i * 3) % i}"},
        }
    return {
        "type": "object",
        "required": ["id", "name", "status"],
        "properties": props,
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: large_spec.py N")
    n = int(sys.argv[1])
    schemas = {f"Resource{i}": component(i) for i in range(SCHEMAS)}
    schemas["Error"] = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object"}},
        },
    }
    paths = {}
    for op in range(n):
        p = op // 2
        path = f"/v1/area{p % 97}/things{p}/{{thingId}}"
        schema = {"$ref": f"#/components/schemas/Resource{op % SCHEMAS}"}
        operation = {
            "operationId": f"op{op}",
            "summary": f"Operation {op}",
            "parameters": [
                {"name": "thingId", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                },
            ],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": schema}},
                },
                "404": {
                    "description": "Not found",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
        paths.setdefault(path, {})["post" if op % 2 else "put"] = operation
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Large", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

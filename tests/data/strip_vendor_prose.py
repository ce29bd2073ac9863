#!/usr/bin/env python3
"""Write the prose-free copy of the vendor's OpenAPI extract used by the spec contract test.

Reads the vendor document (default: ../shared/runtype-docs/openapi-evals.json beside the
repository) and writes tests/data/vendor-evals-structure.json: the same JSON with

  * every `description` and `summary` removed where it is an OpenAPI / JSON Schema keyword
    (never a property name inside a `properties` map or any other map of names, and never
    anything inside an example or other literal value), and
  * the top-level `_source` note removed.

Paths, parameters, schemas, status codes and example values are kept as they are.
tests/evalmock/spec_contract.rs applies the same rules in Rust and fails if the copy drifts.

Usage: python3 tests/data/strip_vendor_prose.py [VENDOR_JSON [OUTPUT_JSON]]
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "runtype-docs" / "openapi-evals.json"
DEFAULT_OUTPUT = HERE / "vendor-evals-structure.json"

# Keywords whose value is prose.
PROSE_KEYWORDS = {"description", "summary"}
# Keywords whose value is a map from names (property names, paths, status codes, media types,
# component names, ...) to objects: the names are kept as they are, the objects are stripped.
NAME_MAP_KEYWORDS = {
    "properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
    "paths", "webhooks", "responses", "content", "schemas", "securitySchemes", "parameters",
    "requestBodies", "headers", "callbacks", "links", "encoding", "examples", "variables",
    "pathItems", "mediaTypes",
}
# Keywords whose value is data, kept exactly: example values, enumerations, security requirements.
LITERAL_KEYWORDS = {
    "example", "default", "const", "enum", "value", "dataValue", "serializedValue",
    "externalValue", "security", "required", "mapping",
}
# Top-level keys that are notes about the extract rather than part of the OpenAPI document.
DROPPED_TOP_LEVEL_KEYS = {"_source"}


def is_literal(key, value):
    """True when `value` under `key` is data to keep verbatim."""
    if key in LITERAL_KEYWORDS or key.startswith("x-"):
        return True
    # JSON Schema `examples` is an array of example values; OpenAPI `examples` is a map.
    return key == "examples" and isinstance(value, list)


def strip_value(value):
    if isinstance(value, dict):
        return strip_object(value)
    if isinstance(value, list):
        return [strip_value(item) for item in value]
    return value


def strip_object(obj):
    stripped = {}
    for key, value in obj.items():
        if key in PROSE_KEYWORDS:
            continue
        if is_literal(key, value):
            stripped[key] = value
        elif key in NAME_MAP_KEYWORDS and isinstance(value, dict):
            stripped[key] = {name: strip_value(item) for name, item in value.items()}
        else:
            stripped[key] = strip_value(value)
    return stripped


def strip_document(document):
    kept = {k: v for k, v in document.items() if k not in DROPPED_TOP_LEVEL_KEYS}
    return strip_object(kept)


def main(argv):
    source = pathlib.Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    output = pathlib.Path(argv[2]) if len(argv) > 2 else DEFAULT_OUTPUT
    with source.open(encoding="utf-8") as handle:
        document = json.load(handle)
    text = json.dumps(strip_document(document), indent=2, ensure_ascii=False) + "\n"
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output} from {source}")


if __name__ == "__main__":
    main(sys.argv)

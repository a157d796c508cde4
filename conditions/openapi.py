"""The OpenAPI 3.1 description of the public JSON API, served at ``/api/openapi.json`` and shown at ``/api/``.

Written by hand beside ``conditions.api``; tests/test_openapi.py validates real responses against
it, so a field added to a response without being described here fails that test.
"""

from .api import DEFAULT_LIMIT, MAX_LIMIT, SAVED_CODES_LIMIT
from .models import Note


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, description: str = "") -> dict:
    """An object with exactly these properties, all present (null where a property allows it)."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return {"description": description, **schema} if description else schema


STRING = {"type": "string"}
URL_PATH = {"type": "string", "format": "uri-reference", "description": "Address of the page on this site."}
NOTE_KINDS = [kind.value for kind in Note.Kind]


def json_response(description: str, schema_name: str, **extra) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": ref(schema_name)}},
        **extra,
    }


ERROR_RESPONSES = {
    "429": json_response(
        "Too many requests from this address; wait `Retry-After` seconds.",
        "Error",
        headers={"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
    ),
}

SCHEMAS = {
    "Error": obj({"error": {**STRING, "description": "What was wrong, in plain words."}}),
    "CodeSummary": obj(
        {
            "code": {
                **STRING,
                "description": "The code as written officially, e.g. M61.2.",
                "examples": ["M61.2"],
            },
            "title": STRING,
            "billable": {
                "type": "boolean",
                "description": "Valid for billing (a code with no codes under it).",
            },
            "url": URL_PATH,
        }
    ),
    "SearchResult": obj(
        {
            "code": STRING,
            "title": STRING,
            "billable": {"type": "boolean"},
            "chapter": {**STRING, "description": 'Chapter number, e.g. "13".'},
            "url": URL_PATH,
            "family": {
                "oneOf": [ref("SearchFamily"), {"type": "null"}],
                "description": "The large family of matches this result stands for (one row), else null.",
            },
        }
    ),
    "SearchFamily": obj(
        {
            "code": {
                **STRING,
                "description": "The most specific code above all the family's matches.",
                "examples": ["S42.43"],
            },
            "title": STRING,
            "count": {"type": "integer", "minimum": 1, "description": "How many of its codes match."},
            "url": URL_PATH,
        }
    ),
    "SearchResults": obj(
        {
            "query": {**STRING, "description": "The query as it was understood (cleaned)."},
            "count": {"type": "integer", "minimum": 0, "description": "How many codes match in all."},
            "results": {"type": "array", "items": ref("SearchResult"), "maxItems": MAX_LIMIT},
        }
    ),
    "Suggestions": obj(
        {"query": STRING, "results": {"type": "array", "items": ref("CodeSummary"), "maxItems": 8}}
    ),
    "SavedCodes": obj(
        {
            "codes": {
                "type": "array",
                "items": ref("CodeSummary"),
                "description": "Known codes, in the order asked.",
            },
            "unknown": {
                "type": "array",
                "items": STRING,
                "description": "Well-formed codes that do not exist.",
            },
        }
    ),
    "NoteSource": obj(
        {
            "level": {"enum": ["self", "category", "code", "block", "chapter"]},
            "owner": {**STRING, "description": "The code, block or chapter the notes are written at."},
            "url": {"type": ["string", "null"], "format": "uri-reference"},
            "notes": {"type": "array", "items": STRING},
        }
    ),
    "NoteGroup": obj(
        {
            "kind": {"enum": NOTE_KINDS},
            "label": STRING,
            "sources": {"type": "array", "items": ref("NoteSource")},
        }
    ),
    "SeventhCharacters": obj(
        {
            "defined_at": {**STRING, "description": "The code whose 7th-character table applies."},
            "this_code": {
                "type": ["string", "null"],
                "description": "The 7th character of this code, if it has one.",
            },
            "notes": {"type": "array", "items": STRING},
            "characters": {
                "type": "array",
                "items": obj({"character": {**STRING, "minLength": 1, "maxLength": 1}, "meaning": STRING}),
            },
        }
    ),
    "PlainWords": obj(
        {
            "code": STRING,
            "facts": {"type": "array", "items": obj({"label": STRING, "text": STRING, "plain": STRING})},
            "parts": {
                "type": "array",
                "description": "Characters of the code and what each adds.",
                "items": obj({"characters": STRING, "position": STRING, "meaning": STRING, "plain": STRING}),
            },
            "terms": {
                "type": "array",
                "description": "[term, everyday meaning] for medical words of the title.",
                "items": {"type": "array", "prefixItems": [STRING, STRING], "items": False, "minItems": 2},
            },
            "also_called": {"type": "array", "items": STRING},
            "also_called_from": STRING,
            "status": STRING,
            "chapter_note": STRING,
        },
        "The code explained in plain words, from its official title and place (icdsite's own wording).",
    ),
}
SCHEMAS["DeletedCode"] = {
    "type": "object",
    "description": "Fields beside error and code are not described in detail yet.",
    "properties": {"error": STRING, "code": STRING},
    "required": ["error", "code"],
}
SCHEMAS["CodeDetail"] = obj(
    {
        **SCHEMAS["CodeSummary"]["properties"],
        "chapter": obj({"number": STRING, "title": STRING, "url": URL_PATH}),
        "block": obj({"id": {**STRING, "examples": ["M60-M63"]}, "title": STRING, "url": URL_PATH}),
        "parents": {"type": "array", "items": ref("CodeSummary"), "description": "From the category down."},
        "children": {"type": "array", "items": ref("CodeSummary"), "description": "In official order."},
        "notes": {
            "type": "object",
            "description": "Every note that applies, by kind, from this code's own to the chapter's.",
            "propertyNames": {"enum": NOTE_KINDS},
            "additionalProperties": {"type": "array", "items": STRING},
        },
        "note_sources": {
            "type": "array",
            "items": ref("NoteGroup"),
            "description": "The same notes grouped by kind and by the level they are written at.",
        },
        "seventh_characters": {"oneOf": [ref("SeventhCharacters"), {"type": "null"}]},
        "article": {
            "oneOf": [
                obj(
                    {
                        "title": STRING,
                        "summary": STRING,
                        "related_codes": {"type": "array", "items": ref("CodeSummary")},
                    },
                    "The published plain-language article about the code.",
                ),
                {"type": "null"},
            ]
        },
        "coding": {
            "type": ["object", "null"],
            "description": "What coders look up beside the code (CC/MCC, HCC, GEMs, code history); "
            "its fields are not described here in detail yet.",
        },
        "plain_words": {"oneOf": [ref("PlainWords"), {"type": "null"}]},
        "family_article": {
            "oneOf": [
                obj(
                    {"code": STRING, "title": STRING, "summary": STRING, "url": URL_PATH},
                    "For a code without an article: the article of the nearest code above it that has one.",
                ),
                {"type": "null"},
            ]
        },
    }
)


def query_parameter(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def operation(operation_id: str, summary: str, description: str, parameters: list, responses: dict) -> dict:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "description": description,
            "parameters": parameters,
            "responses": {**responses, **ERROR_RESPONSES},
        }
    }


BAD_PARAMETERS = json_response("A parameter is missing or out of range.", "Error")

PATHS = {
    "/api/search": operation(
        "searchCodes",
        "Search the code set",
        "Codes matching `q`, best first: a code in any form (`M61.2`, `m612`), a code prefix "
        "(`M61`: that code and everything under it), or words in web search syntax "
        '(`"quoted phrase"`, `-word`, `or`), with lay terms and misspellings understood.',
        [
            query_parameter("q", "What to search for.", STRING, required=True),
            query_parameter(
                "limit",
                "How many results to return.",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            ),
        ],
        {
            "200": json_response("The best matches and how many there are.", "SearchResults"),
            "400": BAD_PARAMETERS,
        },
    ),
    "/api/autocomplete": operation(
        "autocomplete",
        "Suggestions while typing",
        "What the search box suggests: from the first character of a code, or words with the last one partial.",
        [query_parameter("q", "What has been typed so far.", STRING)],
        {"200": json_response("Up to 8 suggestions.", "Suggestions")},
    ),
    "/api/codes/{code}": {
        **operation(
            "getCode",
            "One code",
            "A code as its page shows it: title, billable, chapter and block, parents and children, "
            "every official note that applies with the level it comes from, the 7th-character table, "
            "and the published article's title and summary.",
            [
                {
                    "name": "code",
                    "in": "path",
                    "required": True,
                    "description": "The code in any form: `M61.2`, `m612`.",
                    "schema": STRING,
                }
            ],
            {
                "200": json_response("The code.", "CodeDetail"),
                "404": json_response("No such code.", "Error"),
                "410": json_response(
                    "A code the FY2026 release deleted: `error`, and when it was valid and what replaces it.",
                    "DeletedCode",
                ),
            },
        ),
    },
    "/api/saved-codes": operation(
        "savedCodes",
        "Look up a list of codes",
        f"Titles and billable status of up to {SAVED_CODES_LIMIT} codes (the saved-codes page uses it).",
        [query_parameter("codes", "Codes separated by commas, e.g. `A00.0,M61.2`.", STRING)],
        {
            "200": json_response("The codes found, and those that do not exist.", "SavedCodes"),
            "400": BAD_PARAMETERS,
        },
    ),
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "icdsite ICD-10-CM API",
        "version": "1.0",
        "summary": "Read-only JSON API over the official ICD-10-CM code set (FY2026) and its plain-language articles.",
        "description": 'No key needed. Every answer is JSON in UTF-8, errors too (`{"error": "..."}`). '
        "Any web site may call it from a browser (CORS). Requests are limited per client address; "
        "over the limit the answer is 429 with `Retry-After`.",
        "license": {"name": "Code data: public domain (CMS); articles: see the site"},
    },
    "servers": [{"url": "/"}],
    "paths": PATHS,
    "components": {"schemas": SCHEMAS},
}


def operations() -> list[dict]:
    """The operations in the order written, for the HTML page: path, parameters, and each response's schema name."""
    listed = []
    for path, methods in PATHS.items():
        for method, op in methods.items():
            responses = [
                {
                    "status": status,
                    "description": response["description"],
                    "schema": response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1],
                }
                for status, response in op["responses"].items()
            ]
            listed.append({"method": method.upper(), "path": path, **op, "responses": responses})
    return listed

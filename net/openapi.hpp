#pragma once

// The OpenAPI 3.1 document of every HTTP endpoint (docs/openapi.json,
// written by scripts/openapi.py), compiled in and served at
// `GET /api/openapi.json`.

#include <string_view>

namespace nod::net {

std::string_view openapi_json();

} // namespace nod::net

// JSON as text the way deskpipe writes it everywhere (SQL columns, request bodies, log fields): compact, and a
// string holding invalid UTF-8 gets U+FFFD in its place instead of throwing, since platform payloads are not
// guaranteed valid. Pure function; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace deskpipe {

std::string CompactJson(const nlohmann::json& value);

}  // namespace deskpipe

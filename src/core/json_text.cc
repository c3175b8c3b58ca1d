#include "core/json_text.h"

#include <simdjson.h>

namespace deskpipe {
namespace {

using nlohmann::json;

constexpr size_t kKeptParserTextBytes = 64 * 1024;

// Mirrors nlohmann's parse: a non-negative integer is unsigned, and of a repeated key the last one wins.
json ToNlohmann(simdjson::dom::element element) {
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT: {
      json object = json::object();
      auto& fields = *object.get_ptr<json::object_t*>();
      const simdjson::dom::object source = element.get_object().value_unsafe();
      for (const auto [key, value] : source) fields.insert_or_assign(std::string(key), ToNlohmann(value));
      return object;
    }
    case simdjson::dom::element_type::ARRAY: {
      json array = json::array();
      auto& items = *array.get_ptr<json::array_t*>();
      const simdjson::dom::array source = element.get_array().value_unsafe();
      items.reserve(source.size());
      for (const simdjson::dom::element item : source) items.push_back(ToNlohmann(item));
      return array;
    }
    case simdjson::dom::element_type::INT64: {
      const int64_t n = element.get_int64().value_unsafe();
      return n >= 0 ? json(static_cast<uint64_t>(n)) : json(n);
    }
    case simdjson::dom::element_type::UINT64:
      return element.get_uint64().value_unsafe();
    case simdjson::dom::element_type::DOUBLE:
      return element.get_double().value_unsafe();
    case simdjson::dom::element_type::STRING:
      return std::string(element.get_string().value_unsafe());
    case simdjson::dom::element_type::BOOL:
      return element.get_bool().value_unsafe();
    case simdjson::dom::element_type::NULL_VALUE:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

std::string CompactJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> ParseJsonText(std::string_view text, std::vector<std::string>* item_texts) {
  if (item_texts != nullptr) item_texts->clear();
  // A parser keeps buffers of ~7 times the largest text it parsed. Kept per thread for the many small pages;
  // a big one (a tickets page, a long thread) gets a parser of its own, so no thread holds megabytes after it.
  thread_local simdjson::dom::parser kept;
  simdjson::dom::parser one_off;  // allocates nothing unless used
  simdjson::dom::parser& parser = text.size() <= kKeptParserTextBytes ? kept : one_off;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) == simdjson::SUCCESS) {
    if (item_texts != nullptr && root.is_array()) {
      const simdjson::dom::array items = root.get_array().value_unsafe();
      item_texts->reserve(items.size());
      for (const simdjson::dom::element item : items) item_texts->push_back(simdjson::to_string(item));
    }
    return ToNlohmann(root);
  }
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    return Error(InvalidArgument(e.what()));
  }
}

}  // namespace deskpipe

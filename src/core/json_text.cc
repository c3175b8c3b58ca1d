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

// Each element's text of the JSON array `text` as it stands there (whitespace between elements left out),
// or nothing when the walk fails. `text` passed simdjson's DOM parse, so it is valid JSON.
void SliceArrayItems(std::string_view text, simdjson::ondemand::parser& walker,
                     std::vector<std::string>& out) {
  const simdjson::padded_string padded(text);  // on-demand reads past the end: it needs the padding
  simdjson::ondemand::document document;
  simdjson::ondemand::array array;
  if (walker.iterate(padded).get(document) || document.get_array().get(array)) return;
  for (auto element : array) {
    simdjson::ondemand::value value;
    simdjson::ondemand::json_type type;
    if (element.get(value) || value.type().get(type)) {
      out.clear();
      return;
    }
    // A container's raw_json_token() is only its opening bracket: objects and arrays give their whole text.
    std::string_view raw;
    bool failed = false;
    if (type == simdjson::ondemand::json_type::object) {
      simdjson::ondemand::object object;
      failed = value.get_object().get(object) || object.raw_json().get(raw);
    } else if (type == simdjson::ondemand::json_type::array) {
      simdjson::ondemand::array inner;
      failed = value.get_array().get(inner) || inner.raw_json().get(raw);
    } else {
      raw = value.raw_json_token();
    }
    if (failed) {
      out.clear();
      return;
    }
    raw = raw.substr(0, raw.find_last_not_of(" \t\r\n") + 1);  // the whitespace up to the next comma
    out.emplace_back(raw);
  }
}

}  // namespace

std::string CompactJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> ParseJsonText(std::string_view text, std::vector<std::string>* item_texts) {
  if (item_texts != nullptr) item_texts->clear();
  // A parser keeps buffers of ~7 times the largest text it parsed. Kept per thread for the many small pages;
  // a big one (a tickets page, a long thread) gets a parser of its own, so no thread holds megabytes after it.
  const bool small = text.size() <= kKeptParserTextBytes;
  thread_local simdjson::dom::parser kept;
  simdjson::dom::parser one_off;  // allocates nothing unless used
  simdjson::dom::parser& parser = small ? kept : one_off;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) {
    try {
      return json::parse(text);
    } catch (const json::parse_error& e) {
      return Error(InvalidArgument(e.what()));
    }
  }
  if (item_texts != nullptr && root.is_array()) {
    // Sliced from the text by simdjson's on-demand walk (the DOM keeps no positions), which is a fraction of
    // the cost of writing each item out again.
    thread_local simdjson::ondemand::parser kept_walker;
    simdjson::ondemand::parser one_off_walker;
    SliceArrayItems(text, small ? kept_walker : one_off_walker, *item_texts);
  }
  return ToNlohmann(root);
}

}  // namespace deskpipe

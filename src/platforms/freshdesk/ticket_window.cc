#include "platforms/freshdesk/ticket_window.h"

#include <algorithm>

#include "core/time.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;

constexpr int kMaxPerPage = 100;
// A run longer than any real id set is a corrupt cursor, not a reason to allocate without bound.
constexpr int64_t kMaxRunLength = 10'000'000;

Result<int64_t> TimestampKey(const json& object, const char* key, const std::string& stream) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    return Error(InvalidArgument(stream + " cursor has no '" + key + "': " + object.dump()));
  }
  auto ts = ParseTimestamp(it->get<std::string>());
  if (!ts) return Error(InvalidArgument(stream + " cursor: '" + key + "': " + ts.error().message()));
  return *ts;
}

int IntKey(const json& object, const char* key, int fallback) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return fallback;
  return it->get<int>();
}

}  // namespace

json EncodeIdSet(const std::set<int64_t>& ids) {
  json out = json::array();
  auto it = ids.begin();
  while (it != ids.end()) {
    int64_t first = *it;
    int64_t last = first;
    ++it;
    while (it != ids.end() && *it == last + 1) last = *it++;
    if (last - first >= 2) {
      out.push_back(json::array({first, last}));
    } else {
      for (int64_t id = first; id <= last; ++id) out.push_back(id);
    }
  }
  return out;
}

Result<std::set<int64_t>> DecodeIdSet(const json& value, const std::string& what) {
  std::set<int64_t> out;
  if (value.is_null()) return out;
  if (!value.is_array()) return Error(InvalidArgument(what + " is not an array"));
  for (const auto& v : value) {
    if (v.is_number_integer()) {
      out.insert(v.get<int64_t>());
      continue;
    }
    if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer() &&
        v[0].get<int64_t>() <= v[1].get<int64_t>() &&
        v[1].get<int64_t>() - v[0].get<int64_t>() < kMaxRunLength) {
      for (int64_t id = v[0].get<int64_t>(); id <= v[1].get<int64_t>(); ++id) out.insert(out.end(), id);
      continue;
    }
    return Error(InvalidArgument(what + " holds " + v.dump() + ": expected an id or a [first, last] run"));
  }
  return out;
}

ListCursor ListCursor::Start(int64_t start, int per_page) {
  ListCursor c;
  c.window_start = start;
  c.max_ts = start;
  c.per_page = per_page;
  return c;
}

Result<ListCursor> ListCursor::Parse(const json& cursor, int64_t start, int per_page, const std::string& stream) {
  if (cursor.is_null()) return Start(start, per_page);
  if (!cursor.is_object()) return Error(InvalidArgument(stream + " cursor is not a JSON object: " + cursor.dump()));
  ListCursor c;
  ASSIGN_OR_RETURN(c.window_start, TimestampKey(cursor, "window_start", stream));
  c.page = IntKey(cursor, "page", 1);
  c.per_page = IntKey(cursor, "per_page", per_page);
  if (c.page < 1 || c.per_page < 1 || c.per_page > kMaxPerPage) {
    return Error(InvalidArgument(stream + " cursor has a bad 'page' or 'per_page': " + cursor.dump()));
  }
  ASSIGN_OR_RETURN(c.skip_ids, DecodeIdSet(cursor.value("skip_ids", json()), stream + " cursor 'skip_ids'"));
  ASSIGN_OR_RETURN(c.max_ids, DecodeIdSet(cursor.value("max_ids", json()), stream + " cursor 'max_ids'"));
  c.max_ts = c.window_start;
  if (cursor.contains("max_updated_at") && cursor["max_updated_at"].is_string()) {
    ASSIGN_OR_RETURN(int64_t max_ts, TimestampKey(cursor, "max_updated_at", stream));
    c.max_ts = std::max(max_ts, c.window_start);
  }
  auto split = cursor.find("split");
  if (split != cursor.end() && split->is_object()) {
    if (c.max_ts != c.window_start) {
      return Error(InvalidArgument(stream + " cursor splits a second it has already passed: " + cursor.dump()));
    }
    c.splitting = true;
    c.split_descending = split->value("order_type", std::string("asc")) == "desc";
    c.split_page = IntKey(*split, "page", 1);
    if (c.split_page < 1) return Error(InvalidArgument(stream + " cursor has a bad split 'page': " + cursor.dump()));
    auto last_id = split->find("asc_last_id");
    if (last_id != split->end() && last_id->is_number_integer()) {
      c.has_asc_last = true;
      c.asc_last_id = last_id->get<int64_t>();
      ASSIGN_OR_RETURN(c.asc_last_created, TimestampKey(*split, "asc_last_created_at", stream));
    }
  }
  return c;
}

json ListCursor::ToJson() const {
  json out = {{"window_start", FormatTimestamp(window_start)},
              {"page", page},
              {"per_page", per_page},
              {"skip_ids", EncodeIdSet(skip_ids)},
              {"max_updated_at", FormatTimestamp(max_ts)},
              {"max_ids", EncodeIdSet(max_ids)}};
  if (splitting) {
    json split = {{"order_type", split_descending ? "desc" : "asc"}, {"page", split_page}};
    if (has_asc_last) {
      split["asc_last_id"] = asc_last_id;
      split["asc_last_created_at"] = FormatTimestamp(asc_last_created);
    }
    out["split"] = std::move(split);
  }
  return out;
}

void ListCursor::Saw(int64_t id, int64_t updated_at) {
  if (updated_at > max_ts) {
    max_ts = updated_at;
    max_ids.clear();
  }
  if (updated_at == max_ts) max_ids.insert(id);
}

ListCursor ListCursor::NextWindow() const {
  ListCursor next = Start(max_ts, per_page);
  next.skip_ids = max_ids;
  next.max_ids = max_ids;
  return next;
}

ListCursor ListCursor::AtPageCap() const {
  if (max_ts > window_start) return NextWindow();
  ListCursor split = *this;
  split.max_ids.insert(skip_ids.begin(), skip_ids.end());
  split.splitting = true;
  split.split_descending = false;
  split.split_page = 1;
  split.has_asc_last = false;
  return split;
}

ListCursor ListCursor::AfterSplit() const { return Start(window_start + 1, per_page); }

}  // namespace deskpipe::freshdesk

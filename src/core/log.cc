#include "core/log.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "core/json_text.h"
#include "core/time.h"

namespace deskpipe::log {
namespace {

// Levels in increasing severity; index is the comparison value.
constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};

int LevelRank(std::string_view level) {
  for (int i = 0; i < 5; ++i) {
    if (kLevels[i] == level) return i;
  }
  return -1;
}

struct State {
  std::atomic<Format> format{Format::kText};
  std::atomic<int> min_level{2};  // info
  std::shared_mutex secrets_mu;
  std::vector<std::string> secrets;  // guarded by secrets_mu
};

State& GlobalState() {
  static State* state = new State();  // never destroyed: logging may run during static destruction
  return *state;
}

spdlog::logger& Logger() {
  // Not registered in spdlog's global registry, so other code's loggers cannot collide with it.
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("deskpipe", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");  // lines are fully rendered by Render()
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

bool IsWordByte(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::vector<std::string> Secrets() {
  State& state = GlobalState();
  std::shared_lock lock(state.secrets_mu);
  return state.secrets;
}

std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) text = MaskSecret(std::move(text), secret);
  return text;
}

// Redacts every string (keys and values) inside a JSON value.
nlohmann::json RedactJson(const nlohmann::json& value, const std::vector<std::string>& secrets) {
  if (value.is_string()) return Redact(value.get<std::string>(), secrets);
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) out.push_back(RedactJson(item, secrets));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) out[Redact(k, secrets)] = RedactJson(v, secrets);
    return out;
  }
  return value;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

// A text-format token: bare when it is plain, JSON-quoted when it holds spaces, quotes, '=' or control bytes.
std::string TextToken(const std::string& text) {
  bool plain = !text.empty();
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || c == '"' || c == '=' || c == '\\' || u == 0x7f) plain = false;
  }
  return plain ? text : CompactJson(text);
}

std::string TextValue(const nlohmann::json& value) {
  if (value.is_string()) return TextToken(value.get<std::string>());
  return TextToken(CompactJson(value));
}

// The message on one line: newlines and other control characters escaped.
std::string OneLine(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < ' ') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

bool IsReservedKey(std::string_view key) { return key == "ts" || key == "level" || key == "msg"; }

void Emit(std::string_view level, std::string_view message, const nlohmann::json& fields) {
  State& state = GlobalState();
  if (LevelRank(level) < state.min_level.load(std::memory_order_relaxed)) return;
  const std::string line = Render(state.format.load(std::memory_order_relaxed), level, message, fields);
  Logger().log(level == "error"   ? spdlog::level::err
               : level == "warn"  ? spdlog::level::warn
               : level == "debug" ? spdlog::level::debug
                                  : spdlog::level::info,
               "{}", line);
}

}  // namespace

Result<void> Configure(std::string_view format, std::string_view level) {
  Format parsed;
  if (format == "text") {
    parsed = Format::kText;
  } else if (format == "json") {
    parsed = Format::kJson;
  } else {
    return ::deskpipe::Error(
        InvalidArgument("unknown log format '" + std::string(format) + "': use text or json"));
  }
  const int rank = LevelRank(level);
  if (rank < 0) {
    return ::deskpipe::Error(InvalidArgument("unknown log level '" + std::string(level) +
                                             "': use trace, debug, info, warn or error"));
  }
  State& state = GlobalState();
  state.format.store(parsed);
  state.min_level.store(rank);
  return {};
}

Format CurrentFormat() { return GlobalState().format.load(std::memory_order_relaxed); }

void Info(std::string_view message, const nlohmann::json& fields) { Emit("info", message, fields); }
void Warn(std::string_view message, const nlohmann::json& fields) { Emit("warn", message, fields); }
void Error(std::string_view message, const nlohmann::json& fields) { Emit("error", message, fields); }
void Debug(std::string_view message, const nlohmann::json& fields) { Emit("debug", message, fields); }

void AddSecret(std::string secret) {
  if (secret.size() < kMinMaskedSecretLength) return;
  State& state = GlobalState();
  std::unique_lock lock(state.secrets_mu);
  for (const std::string& known : state.secrets) {
    if (known == secret) return;
  }
  state.secrets.push_back(std::move(secret));
}

std::string MaskSecret(std::string text, std::string_view secret) {
  if (secret.size() < kMinMaskedSecretLength) return text;
  std::string out;
  size_t copied = 0;  // text[0, copied) is in `out`
  for (size_t pos = text.find(secret); pos != std::string::npos;) {
    // A run of back-to-back occurrences, then whether the run stands on its own.
    size_t end = pos + secret.size();
    while (text.compare(end, secret.size(), secret) == 0) end += secret.size();
    const bool whole = secret.size() >= kMaskAnywhereSecretLength ||
                       ((pos == 0 || !IsWordByte(text[pos - 1])) && (end == text.size() || !IsWordByte(text[end])));
    if (whole) {
      out.append(text, copied, pos - copied);
      out += std::string(3 * ((end - pos) / secret.size()), '*');
      copied = end;
    }
    pos = text.find(secret, whole ? end : pos + 1);
  }
  if (copied == 0) return text;
  out.append(text, copied, std::string::npos);
  return out;
}

std::string Render(Format format, std::string_view level, std::string_view message,
                   const nlohmann::json& fields) {
  const std::vector<std::string> secrets = Secrets();
  const std::string msg = Redact(std::string(message), secrets);
  // Fields that are not an object are kept under "fields" rather than dropped.
  nlohmann::json object = fields.is_object() ? RedactJson(fields, secrets)
                          : fields.is_null() ? nlohmann::json::object()
                                             : nlohmann::json{{"fields", RedactJson(fields, secrets)}};
  const std::string ts = FormatTimestamp(NowUnixSeconds());

  std::string line;
  if (format == Format::kJson) {
    // Built by hand so ts, level and msg come first; every piece is escaped by nlohmann.
    line = "{\"ts\":" + CompactJson(ts) + ",\"level\":" + CompactJson(std::string(level)) +
           ",\"msg\":" + CompactJson(msg);
    for (const auto& [key, value] : object.items()) {
      const std::string name = IsReservedKey(key) ? "_" + key : key;
      line += "," + CompactJson(name) + ":" + CompactJson(value);
    }
    line += "}";
    // Catches a secret split across a string boundary or hiding in a number; also its JSON-escaped form.
    for (const std::string& secret : secrets) {
      line = MaskSecret(std::move(line), secret);
      const std::string escaped = CompactJson(secret);
      line = MaskSecret(std::move(line), std::string_view(escaped).substr(1, escaped.size() - 2));
    }
  } else {
    line = ts + " " + Upper(level) + " " + OneLine(msg);
    for (const auto& [key, value] : object.items()) line += " " + TextToken(key) + "=" + TextValue(value);
    line = Redact(std::move(line), secrets);
  }
  return line;
}

}  // namespace deskpipe::log

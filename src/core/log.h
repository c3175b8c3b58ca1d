// Structured logging over spdlog: human-readable text on a terminal, one JSON object per line with
// --log-format json. Thread-safe (spdlog's multi-threaded sink). Configure once at start-up.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace deskpipe::log {

enum class Format { kText, kJson };

// Sets format and level ("trace", "debug", "info", "warn", "error"); logs go to stderr.
Result<void> Configure(std::string_view format, std::string_view level);

// The format Configure set (kText until it is called).
Format CurrentFormat();

// One event: a message plus key/value fields. In text form "message key=value …"; in JSON form
// {"ts":…,"level":…,"msg":…, fields…}.
void Info(std::string_view message, const nlohmann::json& fields = nlohmann::json::object());
void Warn(std::string_view message, const nlohmann::json& fields = nlohmann::json::object());
void Error(std::string_view message, const nlohmann::json& fields = nlohmann::json::object());
void Debug(std::string_view message, const nlohmann::json& fields = nlohmann::json::object());

// Secrets shorter than this are neither registered nor masked: every short word would match, and no real key
// or token is that short (the config loader warns about such a value).
inline constexpr size_t kMinMaskedSecretLength = 6;

// Strings registered here (API keys) are masked (MaskSecret) in every line logged afterwards.
void AddSecret(std::string secret);

// From this length on a secret is masked wherever it appears: text of its own cannot contain it by chance.
inline constexpr size_t kMaskAnywhereSecretLength = 12;

// `text` with `secret` replaced by "***". A secret shorter than kMaskAnywhereSecretLength only where it stands
// as a whole, not glued to letters or digits on either side (repeats side by side count as one), so a key
// "desk42" leaves "freshdesk42x" alone; a longer one everywhere. Unchanged when `secret` is shorter than
// kMinMaskedSecretLength.
std::string MaskSecret(std::string text, std::string_view secret);

// Renders one event the way the current format would (for tests).
std::string Render(Format format, std::string_view level, std::string_view message, const nlohmann::json& fields);

}  // namespace deskpipe::log

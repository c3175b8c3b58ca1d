// Type sniffing (libmagic), the per-type dispatch, plain text and EML (RFC 822 / MIME) reading.
#include "extract/parsers.h"

#include <magic.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "transforms/html_to_text.h"

namespace deskpipe::extract {

std::string OfficeTypeOfZip(std::string_view bytes);  // office.cc

namespace {

constexpr std::string_view kDocx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
constexpr std::string_view kXlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
constexpr std::string_view kPptx =
    "application/vnd.openxmlformats-officedocument.presentationml.presentation";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.append("\xEF\xBF\xBD");
  }
}

std::string Latin1ToUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (unsigned char c : bytes) AppendUtf8(out, c);
  return out;
}

std::string Utf16ToUtf8(std::string_view bytes, bool little_endian) {
  std::string out;
  out.reserve(bytes.size());
  auto unit = [&](size_t i) -> uint32_t {
    const auto a = static_cast<unsigned char>(bytes[i]);
    const auto b = static_cast<unsigned char>(bytes[i + 1]);
    return little_endian ? (a | (b << 8)) : ((a << 8) | b);
  };
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    uint32_t cp = unit(i);
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < bytes.size()) {
      const uint32_t low = unit(i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        i += 2;
      }
    }
    AppendUtf8(out, cp);
  }
  return out;
}

// Text in the charset a MIME header or libmagic named, as UTF-8.
std::string Decode(std::string_view bytes, std::string_view charset) {
  const std::string cs = Lower(charset);
  if (cs == "iso-8859-1" || cs == "latin1" || cs == "windows-1252" || cs == "cp1252" || cs == "us-ascii" ||
      cs == "iso-8859-15") {
    if (transforms::IsValidUtf8(bytes)) return std::string(bytes);  // pure ASCII or mislabelled UTF-8
    return Latin1ToUtf8(bytes);
  }
  if (cs == "utf-16le") return Utf16ToUtf8(bytes, true);
  if (cs == "utf-16be") return Utf16ToUtf8(bytes, false);
  return transforms::RepairUtf8(bytes);
}

// Looks like an RFC 822 message: the first lines are "Name: value" headers and they include From and one of
// Subject / Date / MIME-Version / Message-ID.
bool LooksLikeEmail(std::string_view bytes) {
  bool from = false, other = false;
  size_t pos = 0;
  for (int line_no = 0; line_no < 40 && pos < bytes.size(); ++line_no) {
    size_t eol = bytes.find('\n', pos);
    if (eol == std::string_view::npos) eol = bytes.size();
    std::string_view line = bytes.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    for (char c : line.substr(0, colon)) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    }
    const std::string name = Lower(line.substr(0, colon));
    if (name == "from") from = true;
    if (name == "subject" || name == "date" || name == "mime-version" || name == "message-id") other = true;
  }
  return from && other;
}

// ------------------------------------------------------------------------------------------------ EML

struct MimePart {
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case name, unfolded value
  std::string_view body;

  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
};

MimePart SplitPart(std::string_view raw) {
  MimePart part;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find('\n', pos);
    if (eol == std::string_view::npos) eol = raw.size();
    std::string_view line = raw.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = std::min(raw.size(), eol + 1);
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !part.headers.empty()) {
      part.headers.back().second += " " + std::string(TrimView(line));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    part.headers.emplace_back(Lower(TrimView(line.substr(0, colon))),
                              std::string(TrimView(line.substr(colon + 1))));
  }
  part.body = raw.substr(pos);
  return part;
}

// The parameter `name` of a header value such as `text/plain; charset="utf-8"`.
std::string Parameter(std::string_view value, std::string_view name) {
  const std::string lower = Lower(value);
  size_t pos = 0;
  while ((pos = lower.find(std::string(name) + "=", pos)) != std::string::npos) {
    if (pos > 0 && lower[pos - 1] != ';' && lower[pos - 1] != ' ' && lower[pos - 1] != '\t') {
      ++pos;
      continue;
    }
    size_t start = pos + name.size() + 1;
    if (start < value.size() && value[start] == '"') {
      const size_t end = value.find('"', start + 1);
      return std::string(
          value.substr(start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1));
    }
    size_t end = value.find_first_of("; \t", start);
    return std::string(
        value.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  }
  return {};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string DecodeQuotedPrintable(std::string_view in, bool header_mode) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (header_mode && c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 1 < in.size() && (in[i + 1] == '\n' || in[i + 1] == '\r')) {
      ++i;  // soft line break
      if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '=' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string DecodeBase64(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    const size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) continue;  // whitespace, '=' padding, junk
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

// RFC 2047 encoded words in a header: =?charset?B|Q?text?=
std::string DecodeHeaderWords(std::string_view value) {
  std::string out;
  size_t pos = 0;
  bool last_was_word = false;
  while (pos < value.size()) {
    const size_t start = value.find("=?", pos);
    if (start == std::string_view::npos) {
      out.append(Decode(value.substr(pos), "utf-8"));
      break;
    }
    const size_t q1 = value.find('?', start + 2);
    const size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
    const size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) {
      out.append(Decode(value.substr(pos), "utf-8"));
      break;
    }
    std::string_view between = value.substr(pos, start - pos);
    if (!(last_was_word && TrimView(between).empty())) out.append(Decode(between, "utf-8"));
    const std::string charset(value.substr(start + 2, q1 - start - 2));
    const char encoding = static_cast<char>(std::toupper(static_cast<unsigned char>(value[q1 + 1])));
    std::string_view text = value.substr(q2 + 1, end - q2 - 1);
    const std::string raw = encoding == 'B' ? DecodeBase64(text) : DecodeQuotedPrintable(text, true);
    out.append(Decode(raw, charset));
    pos = end + 2;
    last_was_word = true;
  }
  return out;
}

struct EmlState {
  std::string plain;
  std::string html;
  std::vector<std::string> attachment_names;
  int64_t budget;
};

Result<void> WalkPart(std::string_view raw, EmlState& state, int depth) {
  if (depth > 20) return Error(InvalidRecord("EML: MIME parts nested more than 20 deep"));
  MimePart part = SplitPart(raw);
  std::string content_type = part.Header("content-type");
  const std::string type = Lower(TrimView(content_type.substr(0, content_type.find(';'))));
  const std::string disposition = Lower(part.Header("content-disposition"));
  if (StartsWith(type, "multipart/")) {
    const std::string boundary = Parameter(content_type, "boundary");
    if (boundary.empty()) return Error(InvalidRecord("EML: multipart part without a boundary"));
    const std::string delimiter = "--" + boundary;
    size_t pos = part.body.find(delimiter);
    while (pos != std::string_view::npos) {
      size_t start = pos + delimiter.size();
      if (part.body.substr(start, 2) == "--") break;  // closing delimiter
      const size_t eol = part.body.find('\n', start);
      if (eol == std::string_view::npos) break;
      start = eol + 1;
      size_t next = part.body.find(delimiter, start);
      std::string_view child =
          part.body.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
      RETURN_IF_ERROR(WalkPart(child, state, depth + 1));
      pos = next;
    }
    return {};
  }
  std::string filename = Parameter(part.Header("content-disposition"), "filename");
  if (filename.empty()) filename = Parameter(content_type, "name");
  if (StartsWith(disposition, "attachment") || (!filename.empty() && !StartsWith(type, "text/"))) {
    state.attachment_names.push_back(filename.empty() ? type : DecodeHeaderWords(filename));
    return {};
  }
  if (type == "message/rfc822") return WalkPart(part.body, state, depth + 1);
  if (!type.empty() && type != "text/plain" && type != "text/html") return {};

  const std::string encoding = Lower(TrimView(part.Header("content-transfer-encoding")));
  std::string decoded;
  if (encoding == "base64") {
    decoded = DecodeBase64(part.body);
  } else if (encoding == "quoted-printable") {
    decoded = DecodeQuotedPrintable(part.body, false);
  } else {
    decoded.assign(part.body);
  }
  state.budget -= static_cast<int64_t>(decoded.size());
  if (state.budget < 0) return Error(InvalidRecord("EML: decodes to more than max_unpacked_bytes"));
  std::string charset = Parameter(content_type, "charset");
  std::string text = Decode(decoded, charset.empty() ? "utf-8" : charset);
  if (type == "text/html") {
    if (state.html.empty()) state.html = std::move(text);
  } else if (state.plain.empty()) {
    state.plain = std::move(text);
  }
  return {};
}

}  // namespace

bool TruncateUtf8(std::string& text, int64_t max_bytes) {
  if (max_bytes < 0 || static_cast<int64_t>(text.size()) <= max_bytes) return false;
  size_t end = static_cast<size_t>(max_bytes);
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return true;
}

Result<std::string> SniffType(std::string_view bytes) {
  if (bytes.empty()) return std::string("application/x-empty");
  std::unique_ptr<magic_set, decltype(&magic_close)> cookie(magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR),
                                                            magic_close);
  if (!cookie || magic_load(cookie.get(), nullptr) != 0) {
    return Error(InvalidRecord("cannot load libmagic's database (install libmagic-mgc)"));
  }
  const char* found = magic_buffer(cookie.get(), bytes.data(), bytes.size());
  std::string type = found != nullptr ? found : "application/octet-stream";
  if (type == "application/zip" || type == "application/octet-stream" ||
      type == "application/vnd.openxmlformats-officedocument") {
    if (bytes.substr(0, 2) == "PK") {
      std::string office = OfficeTypeOfZip(bytes);
      if (!office.empty()) return office;
    }
  }
  if ((type == "text/plain" || type == "message/news") && LooksLikeEmail(bytes))
    return std::string("message/rfc822");
  return type;
}

Result<std::string> ExtractPlainText(std::string_view bytes) {
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xFE) {
    return Utf16ToUtf8(bytes.substr(2), true);
  }
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFE &&
      static_cast<unsigned char>(bytes[1]) == 0xFF) {
    return Utf16ToUtf8(bytes.substr(2), false);
  }
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  size_t control = 0;
  for (unsigned char c : bytes) {
    if (c == 0) return Error(InvalidRecord("text: holds NUL bytes, so it is binary, not text"));
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') ++control;
  }
  if (control * 10 > bytes.size()) {
    return Error(InvalidRecord("text: " + std::to_string(control) + " of " + std::to_string(bytes.size()) +
                               " bytes are control characters, so it is binary, not text"));
  }
  if (transforms::IsValidUtf8(bytes)) return std::string(bytes);
  // Not UTF-8: Latin-1 is the common case (old mail clients, spreadsheets exported on Windows).
  return Latin1ToUtf8(bytes);
}

Result<std::string> ExtractEml(std::string_view bytes, const ExtractLimits& limits) {
  MimePart top = SplitPart(bytes);
  if (top.headers.empty()) return Error(InvalidRecord("EML: no headers"));
  EmlState state{.budget = limits.max_unpacked_bytes};
  RETURN_IF_ERROR(WalkPart(bytes, state, 0));
  std::string out;
  for (const char* name : {"subject", "from", "to", "cc", "date"}) {
    std::string value = top.Header(name);
    if (value.empty()) continue;
    std::string label = name;
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
    out += label + ": " + DecodeHeaderWords(value) + "\n";
  }
  std::string body = state.plain;
  if (TrimView(body).empty() && !state.html.empty()) {
    auto text = transforms::HtmlToText(state.html);
    if (!text) return Error(InvalidRecord("EML: HTML body: " + text.error().message()));
    body = std::move(*text);
  }
  body = std::string(TrimView(body));
  if (!body.empty()) out += "\n" + body + "\n";
  if (!state.attachment_names.empty()) {
    out += "\nAttachments:";
    for (const std::string& name : state.attachment_names) out += " " + name + ";";
    out.pop_back();
    out += "\n";
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Result<std::string> ExtractText(std::string_view type, std::string_view bytes, const ExtractLimits& limits,
                                bool* truncated) {
  if (truncated != nullptr) *truncated = false;
  if (static_cast<int64_t>(bytes.size()) > limits.max_file_bytes) {
    return Error(InvalidRecord("file: " + std::to_string(bytes.size()) + " bytes; the limit is " +
                               std::to_string(limits.max_file_bytes) + " (max_file_bytes)"));
  }
  Result<std::string> text = Error(InvalidRecord(""));
  if (type == "application/pdf") {
    text = ExtractPdf(bytes, limits);
  } else if (StartsWith(type, "image/")) {
    if (type == "image/svg+xml") {
      text = Error(InvalidRecord("image/svg+xml is not read (vector drawings carry no OCR-able pixels)"));
    } else {
      text = ExtractImage(bytes, limits);
    }
  } else if (type == kDocx) {
    text = ExtractDocx(bytes, limits);
  } else if (type == kXlsx) {
    text = ExtractXlsx(bytes, limits);
  } else if (type == kPptx) {
    text = ExtractPptx(bytes, limits);
  } else if (type == "message/rfc822") {
    text = ExtractEml(bytes, limits);
  } else if (type == "text/html" || type == "application/xhtml+xml") {
    ASSIGN_OR_RETURN(std::string plain, ExtractPlainText(bytes));
    auto converted = transforms::HtmlToText(plain);
    if (!converted) return Error(InvalidRecord("HTML: " + converted.error().message()));
    text = std::move(*converted);
  } else if (StartsWith(type, "text/") || type == "application/csv" || type == "application/json" ||
             type == "application/x-empty") {
    text = ExtractPlainText(bytes);
  } else {
    return Error(InvalidRecord("unsupported type " + std::string(type) + " (sniffed from the bytes)"));
  }
  if (!text) return text;
  if (!transforms::IsValidUtf8(*text)) *text = transforms::RepairUtf8(*text);
  const bool cut = TruncateUtf8(*text, limits.max_text_bytes);
  if (truncated != nullptr) *truncated = cut;
  return text;
}

}  // namespace deskpipe::extract

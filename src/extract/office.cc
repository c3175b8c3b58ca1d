// DOCX / XLSX / PPTX: Office Open XML packages read with libzip (from memory) and pugixml. Every entry is
// inflated under one byte budget (limits.max_unpacked_bytes), counted as the bytes arrive, so a zip bomb — or
// a zip whose headers lie about sizes — is refused after at most the budget, whatever it claims.
#include <zip.h>

#include <algorithm>
#include <map>
#include <memory>
#include <pugixml.hpp>
#include <string>
#include <vector>

#include "extract/parsers.h"

namespace deskpipe::extract {
namespace {

constexpr int64_t kMaxEntries = 20000;

class ZipPackage {
 public:
  static Result<ZipPackage> Open(std::string_view bytes, std::string_view kind, const ExtractLimits& limits) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    if (source == nullptr) {
      zip_error_fini(&error);
      return Error(InvalidRecord(std::string(kind) + ": cannot read the zip container"));
    }
    zip_t* archive = zip_open_from_source(source, ZIP_RDONLY, &error);
    if (archive == nullptr) {
      std::string reason = zip_error_strerror(&error);
      zip_source_free(source);
      zip_error_fini(&error);
      return Error(InvalidRecord(std::string(kind) + ": not a readable zip container (" + reason + ")"));
    }
    zip_error_fini(&error);
    ZipPackage package(archive, kind, limits.max_unpacked_bytes);
    if (zip_get_num_entries(archive, 0) > kMaxEntries) {
      return Error(InvalidRecord(std::string(kind) + ": more than " + std::to_string(kMaxEntries) +
                                 " entries in the zip container"));
    }
    return package;
  }

  bool Has(const std::string& name) const { return zip_name_locate(archive_.get(), name.c_str(), 0) >= 0; }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    const zip_int64_t n = zip_get_num_entries(archive_.get(), 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(archive_.get(), static_cast<zip_uint64_t>(i), 0);
      if (name != nullptr) names.emplace_back(name);
    }
    return names;
  }

  // The inflated entry; NotFound when absent; InvalidRecord when over the budget or damaged.
  Result<std::string> Read(const std::string& name) {
    const zip_int64_t index = zip_name_locate(archive_.get(), name.c_str(), 0);
    if (index < 0) return Error(NotFound(std::string(kind_) + ": no " + name + " in the package"));
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(
        zip_fopen_index(archive_.get(), static_cast<zip_uint64_t>(index), 0), zip_fclose);
    if (!file) {
      return Error(InvalidRecord(std::string(kind_) + ": cannot open " + name + " (" +
                                 zip_strerror(archive_.get()) + ")"));
    }
    std::string out;
    char buffer[64 * 1024];
    while (true) {
      const zip_int64_t n = zip_fread(file.get(), buffer, sizeof buffer);
      if (n < 0) {
        return Error(InvalidRecord(std::string(kind_) + ": " + name + " is damaged (" +
                                   zip_file_strerror(file.get()) + ")"));
      }
      if (n == 0) break;
      remaining_ -= n;
      if (remaining_ < 0) {
        return Error(InvalidRecord(std::string(kind_) + ": unpacks to more than " + std::to_string(budget_) +
                                   " bytes (limit max_unpacked_bytes; a zip bomb?)"));
      }
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  ZipPackage(zip_t* archive, std::string_view kind, int64_t budget)
      : archive_(archive, zip_discard), kind_(kind), budget_(budget), remaining_(budget) {}
  std::unique_ptr<zip_t, decltype(&zip_discard)> archive_;
  std::string_view kind_;
  int64_t budget_;
  int64_t remaining_;
};

Result<pugi::xml_document> ParseXml(const std::string& xml, std::string_view kind, const std::string& name) {
  pugi::xml_document doc;
  // No DOCTYPE processing: pugixml never expands external entities, and parse_default skips the DTD.
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!parsed) {
    return Error(InvalidRecord(std::string(kind) + ": " + name + " is not well-formed XML (" +
                               parsed.description() + " at byte " + std::to_string(parsed.offset) + ")"));
  }
  return doc;
}

// Local name without the namespace prefix: "w:p" → "p".
std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  const size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

void EndLine(std::string& out) {
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
}

// ------------------------------------------------------------------------------------------------ DOCX

int HeadingLevel(const pugi::xml_node& paragraph) {
  for (pugi::xml_node ppr : paragraph.children()) {
    if (LocalName(ppr) != "pPr") continue;
    for (pugi::xml_node style : ppr.children()) {
      if (LocalName(style) != "pStyle") continue;
      std::string_view value = style.attribute("w:val").value();
      if (value.substr(0, 7) == "Heading" && value.size() == 8 && value[7] >= '1' && value[7] <= '6') {
        return value[7] - '0';
      }
      if (value == "Title") return 1;
    }
  }
  return 0;
}

void DocxNode(const pugi::xml_node& node, std::string& out, int depth) {
  if (depth > 200) return;  // deeper nesting is not a real document; refuse silently by ignoring it
  for (pugi::xml_node child : node.children()) {
    const std::string_view name = LocalName(child);
    if (name == "t") {
      out.append(child.text().get());
    } else if (name == "tab") {
      out.push_back('\t');
    } else if (name == "br" || name == "cr") {
      out.push_back('\n');
    } else if (name == "p") {
      const int level = HeadingLevel(child);
      EndLine(out);
      if (level > 0) out.append(std::string(static_cast<size_t>(level), '#') + " ");
      DocxNode(child, out, depth + 1);
      EndLine(out);
    } else if (name == "tr") {
      EndLine(out);
      bool first = true;
      for (pugi::xml_node cell : child.children()) {
        if (LocalName(cell) != "tc") continue;
        if (!first) out.append(" | ");
        first = false;
        std::string cell_text;
        DocxNode(cell, cell_text, depth + 1);
        for (char& c : cell_text) {
          if (c == '\n') c = ' ';
        }
        while (!cell_text.empty() && cell_text.back() == ' ') cell_text.pop_back();
        out.append(cell_text);
      }
      EndLine(out);
    } else if (name == "pPr" || name == "rPr" || name == "instrText" || name == "delText") {
      continue;  // formatting, field codes and deleted text are not content
    } else {
      DocxNode(child, out, depth + 1);
    }
  }
}

std::string Tidy(std::string text) {
  // Collapse runs of blank lines to one and trim.
  std::string out;
  out.reserve(text.size());
  int newlines = 0;
  for (char c : text) {
    if (c == '\n') {
      ++newlines;
      continue;
    }
    if (newlines > 0 && !out.empty()) out.append(newlines >= 2 ? "\n\n" : "\n");
    newlines = 0;
    out.push_back(c);
  }
  return out;
}

// Files under `dir` named prefix + number + ".xml", in numeric order.
std::vector<std::string> NumberedParts(const std::vector<std::string>& names, std::string_view prefix) {
  std::vector<std::pair<long, std::string>> found;
  for (const std::string& name : names) {
    if (name.size() <= prefix.size() + 4 || name.compare(0, prefix.size(), prefix) != 0) continue;
    if (name.compare(name.size() - 4, 4, ".xml") != 0) continue;
    const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - 4);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    found.emplace_back(std::stol(digits), name);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [number, name] : found) out.push_back(std::move(name));
  return out;
}

}  // namespace

Result<std::string> ExtractDocx(std::string_view bytes, const ExtractLimits& limits) {
  ASSIGN_OR_RETURN(ZipPackage package, ZipPackage::Open(bytes, "DOCX", limits));
  ASSIGN_OR_RETURN(std::string xml, package.Read("word/document.xml"));
  ASSIGN_OR_RETURN(pugi::xml_document doc, ParseXml(xml, "DOCX", "word/document.xml"));
  std::string out;
  DocxNode(doc, out, 0);
  return Tidy(std::move(out));
}

Result<std::string> ExtractXlsx(std::string_view bytes, const ExtractLimits& limits) {
  ASSIGN_OR_RETURN(ZipPackage package, ZipPackage::Open(bytes, "XLSX", limits));
  std::vector<std::string> shared;
  if (package.Has("xl/sharedStrings.xml")) {
    ASSIGN_OR_RETURN(std::string xml, package.Read("xl/sharedStrings.xml"));
    ASSIGN_OR_RETURN(pugi::xml_document doc, ParseXml(xml, "XLSX", "xl/sharedStrings.xml"));
    for (pugi::xml_node si : doc.document_element().children()) {
      if (LocalName(si) != "si") continue;
      std::string text;
      for (pugi::xpath_node t : si.select_nodes(".//*[local-name()='t']")) text.append(t.node().text().get());
      shared.push_back(std::move(text));
    }
  }

  // Sheet names in workbook order, mapped to their parts through the workbook's relationships.
  std::map<std::string, std::string> targets;  // r:id → part name
  if (package.Has("xl/_rels/workbook.xml.rels")) {
    ASSIGN_OR_RETURN(std::string xml, package.Read("xl/_rels/workbook.xml.rels"));
    ASSIGN_OR_RETURN(pugi::xml_document doc, ParseXml(xml, "XLSX", "xl/_rels/workbook.xml.rels"));
    for (pugi::xml_node rel : doc.document_element().children()) {
      std::string target = rel.attribute("Target").value();
      if (target.rfind("/xl/", 0) == 0) {
        target = target.substr(1);
      } else {
        target = "xl/" + target;
      }
      targets[rel.attribute("Id").value()] = target;
    }
  }
  std::vector<std::pair<std::string, std::string>> sheets;  // (name, part)
  if (package.Has("xl/workbook.xml")) {
    ASSIGN_OR_RETURN(std::string xml, package.Read("xl/workbook.xml"));
    ASSIGN_OR_RETURN(pugi::xml_document doc, ParseXml(xml, "XLSX", "xl/workbook.xml"));
    for (pugi::xpath_node sheet : doc.select_nodes("//*[local-name()='sheet']")) {
      auto it = targets.find(sheet.node().attribute("r:id").value());
      if (it != targets.end()) sheets.emplace_back(sheet.node().attribute("name").value(), it->second);
    }
  }
  if (sheets.empty()) {
    int n = 0;
    for (const std::string& part : NumberedParts(package.Names(), "xl/worksheets/sheet")) {
      sheets.emplace_back("Sheet" + std::to_string(++n), part);
    }
  }
  if (sheets.empty()) return Error(InvalidRecord("XLSX: no worksheets in the package"));

  std::string out;
  for (const auto& [name, part] : sheets) {
    auto xml = package.Read(part);
    if (!xml) {
      if (xml.error().code() == StatusCode::kNotFound) continue;
      return Error(xml.error());
    }
    ASSIGN_OR_RETURN(pugi::xml_document doc, ParseXml(*xml, "XLSX", part));
    if (!out.empty()) out.append("\n");
    out.append("## " + name + "\n");
    for (pugi::xpath_node row : doc.select_nodes("//*[local-name()='sheetData']/*[local-name()='row']")) {
      std::string line;
      for (pugi::xml_node cell : row.node().children()) {
        if (LocalName(cell) != "c") continue;
        std::string_view type = cell.attribute("t").value();
        std::string value;
        if (type == "inlineStr") {
          for (pugi::xpath_node t : cell.select_nodes(".//*[local-name()='t']"))
            value.append(t.node().text().get());
        } else {
          for (pugi::xml_node v : cell.children()) {
            if (LocalName(v) == "v") value = v.text().get();
          }
          if (type == "s") {
            const long index = std::strtol(value.c_str(), nullptr, 10);
            value = index >= 0 && static_cast<size_t>(index) < shared.size()
                        ? shared[static_cast<size_t>(index)]
                        : std::string();
          }
        }
        if (value.empty()) continue;
        for (char& c : value) {
          if (c == '\n' || c == '\r') c = ' ';
        }
        if (!line.empty()) line.append(" | ");
        line.append(value);
      }
      if (!line.empty()) out.append(line + "\n");
    }
  }
  return Tidy(std::move(out));
}

Result<std::string> ExtractPptx(std::string_view bytes, const ExtractLimits& limits) {
  ASSIGN_OR_RETURN(ZipPackage package, ZipPackage::Open(bytes, "PPTX", limits));
  const std::vector<std::string> slides = NumberedParts(package.Names(), "ppt/slides/slide");
  if (slides.empty()) return Error(InvalidRecord("PPTX: no slides in the package"));
  std::string out;
  int number = 0;
  for (const std::string& part : slides) {
    ASSIGN_OR_RETURN(std::string xml, package.Read(part));
    ASSIGN_OR_RETURN(pugi::xml_document doc, ParseXml(xml, "PPTX", part));
    if (!out.empty()) out.append("\n");
    out.append("## Slide " + std::to_string(++number) + "\n");
    for (pugi::xpath_node paragraph :
         doc.select_nodes("//*[local-name()='p' and namespace-uri()="
                          "'http://schemas.openxmlformats.org/drawingml/2006/main']")) {
      std::string line;
      for (pugi::xpath_node t : paragraph.node().select_nodes(".//*[local-name()='t']")) {
        line.append(t.node().text().get());
      }
      if (!line.empty()) out.append(line + "\n");
    }
  }
  return Tidy(std::move(out));
}

// Used by SniffType: which Office format a zip holds, or empty.
std::string OfficeTypeOfZip(std::string_view bytes) {
  ExtractLimits limits;
  auto package = ZipPackage::Open(bytes, "zip", limits);
  if (!package) return {};
  if (package->Has("word/document.xml"))
    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  if (package->Has("xl/workbook.xml"))
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  if (package->Has("ppt/presentation.xml")) {
    return "application/vnd.openxmlformats-officedocument.presentationml.presentation";
  }
  return {};
}

}  // namespace deskpipe::extract

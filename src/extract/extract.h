// Attachment text extraction (DESIGN §6): the type is sniffed from the bytes (libmagic), then the text is
// read by the extractor for that type — PDF (poppler), images (tesseract OCR, English), DOCX/XLSX/PPTX
// (libzip + pugixml), plain text, CSV, HTML, EML.
//
// Untrusted files are never parsed in this process: each file goes to a fresh `deskpipe-extract-worker` child
// (posix_spawn; the worker sets its own rlimits on address space, CPU time, open files and file writes before
// it reads a byte), which is killed when it overruns the wall-clock limit. A parser that crashes, hangs or
// runs out of memory costs that one file an extract_error; the caller's run goes on.
//
// Results are cached by content hash in process memory (ExtractCache): equal bytes are extracted once per
// process. The cache is not persisted; a restarted sync re-extracts (a persistent cache in the store is
// future work).
//
// Thread-safety: Extractor::Extract and ExtractCache are safe to call from several threads at once (each call
// runs its own child). Lifetime: an Extractor holds only its options; the cache passed to ExtractAttachments
// must outlive the call.
// Folder: extract/ (attachment text) may include core/ and transforms/ (docs/ARCHITECTURE.md).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/record.h"
#include "core/status.h"

namespace deskpipe::extract {

// Per-file limits. A file over a limit is refused with a reason naming the limit (extract_error); text longer
// than max_text_bytes is cut (at a UTF-8 boundary) rather than refused.
struct ExtractLimits {
  int64_t max_file_bytes = 32ll << 20;    // larger files are refused before a worker starts
  int max_pdf_pages = 300;                // PDFs with more pages are refused
  int64_t max_image_pixels = 40'000'000;  // width × height from the image header, checked before decoding
  int64_t max_unpacked_bytes =
      64ll << 20;                      // bytes inflated from an Office zip (zip bombs) or decoded from EML
  int64_t max_text_bytes = 4ll << 20;  // extracted text beyond this is cut
  double max_seconds = 60;  // wall clock per file (the worker's CPU rlimit is the same); ≤ 0 ⇒ 60
  int64_t max_memory_bytes = 1ll << 30;  // the worker's address-space rlimit (not applied under ASan)
  int parallel_workers = 0;              // ExtractAttachments: workers at once; ≤ 0 ⇒ the number of cores
};

// What extraction made of one file. Exactly one of text / error is meaningful: error non-empty ⇒ refused or
// failed (text empty). detected_type is the sniffed MIME type ("application/pdf"), possibly empty when the
// worker died before sniffing.
struct ExtractResult {
  std::string detected_type;
  std::string text;
  std::string error;
  bool truncated = false;  // text was cut at max_text_bytes
  bool ok() const { return error.empty(); }
};

// Content-hash → result, in process memory, bounded by the bytes of text it holds (older entries are not
// evicted: once full, new results are simply not cached). Thread-safe.
class ExtractCache {
 public:
  explicit ExtractCache(int64_t max_bytes = 256ll << 20) : max_bytes_(max_bytes) {}
  bool Lookup(const std::string& content_hash, ExtractResult& out) const;
  void Insert(const std::string& content_hash, const ExtractResult& result);
  int64_t hits() const;
  int64_t size() const;

  // The cache ExtractAttachments uses when given none: one per process.
  static ExtractCache& Default();

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, ExtractResult> entries_;
  int64_t bytes_ = 0;
  int64_t max_bytes_;
  mutable int64_t hits_ = 0;
};

// Runs extraction of one file at a time in a worker child. Create once, use from any thread.
class Extractor {
 public:
  // Finds the worker binary: $DESKPIPE_EXTRACT_WORKER, else `deskpipe-extract-worker` beside this executable,
  // else the build tree's copy. InvalidArgument naming the paths tried when none is executable.
  static Result<Extractor> Create(ExtractLimits limits = {});

  // Never fails as a Status: a refused or broken file is an ExtractResult with error set ("PDF has 900 pages;
  // the limit is 300", "worker killed by SIGSEGV while reading application/pdf", "timed out after 60 s").
  // `name` is only used in messages.
  ExtractResult Extract(std::string_view bytes, std::string_view name = {}) const;

  const ExtractLimits& limits() const { return limits_; }
  const std::string& worker_path() const { return worker_path_; }

 private:
  Extractor(ExtractLimits limits, std::string worker_path)
      : limits_(limits), worker_path_(std::move(worker_path)) {}
  ExtractLimits limits_;
  std::string worker_path_;
};

// Fills detected_type and extracted_text, or extract_error, of every attachment of every record that has
// bytes and no download_error (those are left alone; an attachment with extract_error or extracted_text
// already set is skipped). Equal content hashes (Attachment::content_hash, computed here when empty) are
// extracted once. Runs up to limits.parallel_workers children at a time. Fails only when the worker binary
// cannot be found (an installation error: InvalidArgument); a bad file never fails the call.
Result<void> ExtractAttachments(std::vector<Record>& records, const ExtractLimits& limits,
                                ExtractCache* cache = nullptr);

// The same over an already created Extractor.
void ExtractAttachments(std::vector<Record>& records, const Extractor& extractor,
                        ExtractCache* cache = nullptr);

}  // namespace deskpipe::extract

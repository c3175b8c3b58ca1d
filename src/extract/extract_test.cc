// Extraction through the worker child: hostile files cost one result each and the next file still works;
// crashes and hangs are contained; results are cached by content hash.
#include "extract/extract.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/hash.h"
#include "extract/test_files.h"

namespace deskpipe::extract {
namespace {

using ::testing::HasSubstr;
namespace files = ::deskpipe::extract::testing;

Extractor MakeExtractor(ExtractLimits limits = {}) {
  auto extractor = Extractor::Create(limits);
  EXPECT_TRUE(extractor) << extractor.error().ToString();
  return std::move(*extractor);
}

Attachment MakeAttachment(std::string id, std::string name, std::string bytes) {
  Attachment a;
  a.id = std::move(id);
  a.name = std::move(name);
  a.size = static_cast<int64_t>(bytes.size());
  a.bytes = std::move(bytes);
  return a;
}

// A stand-in worker: a shell script that misbehaves, named by DESKPIPE_EXTRACT_WORKER for one test.
class FakeWorker {
 public:
  explicit FakeWorker(const std::string& script) {
    path_ = std::filesystem::temp_directory_path() /
            ("deskpipe-fake-worker-" + std::to_string(::getpid()) + ".sh");
    std::ofstream(path_) << "#!/bin/sh\n" << script << "\n";
    ::chmod(path_.c_str(), 0755);
    ::setenv("DESKPIPE_EXTRACT_WORKER", path_.c_str(), 1);
  }
  ~FakeWorker() {
    ::unsetenv("DESKPIPE_EXTRACT_WORKER");
    std::filesystem::remove(path_);
  }

 private:
  std::filesystem::path path_;
};

TEST(Extractor, ReadsAGoodFileThroughTheWorker) {
  Extractor extractor = MakeExtractor();
  ExtractResult result =
      extractor.Extract(files::MakePdf({{"Reset your password from the login page"}}), "a.pdf");
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.detected_type, "application/pdf");
  EXPECT_THAT(result.text, HasSubstr("Reset your password from the login page"));
}

// Built once: 20000×20000 pixels take a moment to compress.
const std::string& HugePng() {
  static const std::string png = files::MakeBlankPng(20000, 20000);
  return png;
}

TEST(Extractor, HostileFilesEachGiveAReasonAndTheNextFileStillWorks) {
  ExtractLimits limits;
  limits.max_unpacked_bytes = 4 << 20;  // a smaller budget keeps the bomb quick to build
  Extractor extractor = MakeExtractor(limits);
  const std::string pdf = files::MakePdf({{"first page text"}, {"second page text"}});
  std::string binary;
  for (int i = 0; i < 2048; ++i) binary.push_back(static_cast<char>((i * 131 + 7) % 256));

  struct Case {
    std::string name, bytes, type, reason;
  } cases[] = {
      {"report.pdf", pdf.substr(0, pdf.size() * 2 / 3), "application/pdf", "truncated"},
      {"bomb.docx", files::MakeZipBombDocx(12 << 20),
       "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "zip bomb"},
      {"huge.png", HugePng(), "image/png", "max_image_pixels"},
      {"notes.txt", binary, "", ""},
  };
  for (const Case& c : cases) {
    ExtractResult result = extractor.Extract(c.bytes, c.name);
    EXPECT_FALSE(result.ok()) << c.name;
    EXPECT_TRUE(result.text.empty()) << c.name;
    if (!c.type.empty()) {
      EXPECT_EQ(result.detected_type, c.type) << c.name;
    }
    if (!c.reason.empty()) {
      EXPECT_THAT(result.error, HasSubstr(c.reason)) << c.name;
    }
    EXPECT_NE(result.detected_type, "text/plain")
        << c.name << ": binary bytes are not text, whatever the name";
  }
  ExtractResult after = extractor.Extract(pdf, "good.pdf");
  ASSERT_TRUE(after.ok()) << after.error;
  EXPECT_THAT(after.text, HasSubstr("second page text"));
}

TEST(Extractor, RefusesOversizedFilesWithoutStartingAWorker) {
  ExtractLimits limits;
  limits.max_file_bytes = 100;
  FakeWorker worker("echo 'ok 0'; echo 'should not run'");
  Extractor extractor = MakeExtractor(limits);
  ExtractResult result = extractor.Extract(std::string(101, 'x'), "big.txt");
  EXPECT_THAT(result.error, HasSubstr("max_file_bytes"));
}

TEST(Extractor, AWorkerCrashIsOneFailedFile) {
  FakeWorker worker("echo 'type application/pdf'; kill -SEGV $$");
  Extractor extractor = MakeExtractor();
  ExtractResult result = extractor.Extract("%PDF-1.4", "crash.pdf");
  EXPECT_THAT(result.error, HasSubstr("crashed"));
  EXPECT_THAT(result.error, HasSubstr("SIGSEGV"));
  EXPECT_THAT(result.error, HasSubstr("application/pdf"));
}

TEST(Extractor, AHangingWorkerIsKilledAtTheTimeLimit) {
  ExtractLimits limits;
  limits.max_seconds = 0.5;
  FakeWorker worker("echo 'type image/png'; exec sleep 30");
  Extractor extractor = MakeExtractor(limits);
  ExtractResult result = extractor.Extract("x", "slow.png");
  EXPECT_THAT(result.error, HasSubstr("timed out"));
  EXPECT_THAT(result.error, HasSubstr("image/png"));
}

TEST(Extractor, AWorkerThatExitsWithoutAnAnswerIsReported) {
  FakeWorker worker("echo 'parser exploded' >&2; exit 7");
  Extractor extractor = MakeExtractor();
  ExtractResult result = extractor.Extract("x", "a.bin");
  EXPECT_THAT(result.error, HasSubstr("status 7"));
  EXPECT_THAT(result.error, HasSubstr("parser exploded"));
}

TEST(Extractor, MemoryLimitStopsAGreedyParse) {
  ExtractLimits limits;
  limits.max_memory_bytes = 96ll << 20;
  limits.max_image_pixels = 400'000'000;  // let the pixel check pass so the memory limit is what stops it
  Extractor extractor = MakeExtractor(limits);
  ExtractResult result = extractor.Extract(HugePng(), "huge.png");
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(result.text.empty());
  EXPECT_EQ(result.detected_type, "image/png");
}

TEST(Extractor, MissingWorkerIsAClearInstallationError) {
  ::setenv("DESKPIPE_EXTRACT_WORKER", "/nonexistent/deskpipe-extract-worker", 1);
  auto extractor = Extractor::Create();
  ::unsetenv("DESKPIPE_EXTRACT_WORKER");
  ASSERT_FALSE(extractor);
  EXPECT_EQ(extractor.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(extractor.error().message(), HasSubstr("/nonexistent/deskpipe-extract-worker"));
}

TEST(ExtractAttachments, FillsEveryAttachmentAndCachesByContentHash) {
  // Built once: zip entries carry a timestamp, so two builds may differ by a byte.
  const std::string steps = files::MakeDocx({"Open Settings, then Billing"});
  std::vector<Record> records(2);
  records[0].id = "acme_freshdesk_1";
  records[0].attachments.push_back(MakeAttachment("11", "steps.docx", steps));
  records[0].attachments.push_back(MakeAttachment("12", "broken.pdf", files::MakePdf({{"x"}}).substr(0, 40)));
  records[1].id = "acme_freshdesk_conversation-5";
  // The same bytes again, under another name: extracted once.
  records[1].attachments.push_back(MakeAttachment("13", "copy.docx", steps));
  Attachment not_downloaded;
  not_downloaded.id = "14";
  not_downloaded.download_error = "HTTP 403";
  records[1].attachments.push_back(not_downloaded);

  ExtractCache cache;
  ExtractLimits limits;
  limits.parallel_workers = 2;
  ASSERT_TRUE(ExtractAttachments(records, limits, &cache));
  const Attachment& docx = records[0].attachments[0];
  EXPECT_EQ(docx.detected_type, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(docx.extracted_text, "Open Settings, then Billing");
  EXPECT_TRUE(docx.extract_error.empty());
  EXPECT_EQ(docx.content_hash, HashHex(docx.bytes));
  EXPECT_THAT(records[0].attachments[1].extract_error, HasSubstr("PDF"));
  EXPECT_EQ(records[1].attachments[0].extracted_text, "Open Settings, then Billing");
  EXPECT_TRUE(records[1].attachments[1].extract_error.empty());  // left to the downloader's error
  EXPECT_TRUE(records[1].attachments[1].detected_type.empty());
  EXPECT_EQ(cache.size(), 2);
  EXPECT_EQ(cache.hits(), 0);

  // A later batch with the same bytes is served from the cache.
  std::vector<Record> again(1);
  again[0].attachments.push_back(MakeAttachment("21", "again.docx", steps));
  ASSERT_TRUE(ExtractAttachments(again, limits, &cache));
  EXPECT_EQ(again[0].attachments[0].extracted_text, "Open Settings, then Billing");
  EXPECT_EQ(cache.hits(), 1);
}

}  // namespace
}  // namespace deskpipe::extract

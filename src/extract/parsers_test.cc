// The readers in process, on real files built from known text (test_files.h).
#include "extract/parsers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "extract/test_files.h"
#include "transforms/html_to_text.h"

namespace deskpipe::extract {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace files = ::deskpipe::extract::testing;

constexpr std::string_view kDocx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

TEST(SniffType, NamesEachFormatFromItsBytes) {
  EXPECT_EQ(*SniffType(files::MakePdf({{"hello"}})), "application/pdf");
  EXPECT_EQ(*SniffType(files::MakeBlankPng(10, 10)), "image/png");
  EXPECT_EQ(*SniffType(files::MakeDocx({"hello"})), kDocx);
  EXPECT_EQ(*SniffType(files::MakeXlsx("S", {{"a"}})),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  EXPECT_EQ(*SniffType(files::MakePptx({{"a"}})),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation");
  EXPECT_EQ(*SniffType("plain words here\n"), "text/plain");
  EXPECT_EQ(*SniffType("<!DOCTYPE html><html><body><p>x</p></body></html>"), "text/html");
  EXPECT_EQ(*SniffType("From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"),
            "message/rfc822");
  EXPECT_EQ(*SniffType(""), "application/x-empty");
}

TEST(ExtractPdf, ReadsEveryPageInOrder) {
  const std::string pdf =
      files::MakePdf({{"Refund policy for annual plans", "Contact billing within 30 days"},
                      {"Second page: invoices (PDF) & receipts"}});
  auto text = ExtractText("application/pdf", pdf, {});
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_THAT(*text, HasSubstr("Refund policy for annual plans"));
  EXPECT_THAT(*text, HasSubstr("Contact billing within 30 days"));
  EXPECT_THAT(*text, HasSubstr("Second page: invoices (PDF) & receipts"));
  EXPECT_LT(text->find("annual plans"), text->find("Second page"));
}

TEST(ExtractPdf, RefusesTruncatedAndTooManyPages) {
  const std::string pdf = files::MakePdf({{"one"}, {"two"}, {"three"}});
  auto truncated = ExtractText("application/pdf", pdf.substr(0, pdf.size() / 2), {});
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code(), StatusCode::kInvalidRecord);
  EXPECT_THAT(truncated.error().message(), HasSubstr("truncated"));

  ExtractLimits limits;
  limits.max_pdf_pages = 2;
  auto long_pdf = ExtractText("application/pdf", pdf, limits);
  ASSERT_FALSE(long_pdf);
  EXPECT_THAT(long_pdf.error().message(), HasSubstr("3 pages; the limit is 2"));
}

TEST(ExtractImage, ReadsTextByOcr) {
  const std::string png = files::MakeTextPng({"INVOICE NUMBER 4417", "PAYMENT RECEIVED WITH THANKS"});
  auto text = ExtractText("image/png", png, {});
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_THAT(*text, HasSubstr("INVOICE"));
  EXPECT_THAT(*text, HasSubstr("4417"));
  EXPECT_THAT(*text, HasSubstr("PAYMENT RECEIVED"));
}

TEST(ExtractImage, RefusesTooManyPixelsFromTheHeader) {
  const std::string png = files::MakeBlankPng(20000, 20000);
  auto text = ExtractText("image/png", png, {});
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code(), StatusCode::kInvalidRecord);
  EXPECT_THAT(text.error().message(), HasSubstr("400000000 pixels; the limit is 40000000"));
}

TEST(ExtractOffice, DocxParagraphsAndTableRows) {
  const std::string docx = files::MakeDocx({"Quarterly report", "Sales grew <10%> & costs fell."},
                                           {{"Region", "Revenue"}, {"EMEA", "1200"}});
  auto text = ExtractText(kDocx, docx, {});
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_EQ(*text, "Quarterly report\nSales grew <10%> & costs fell.\nRegion | Revenue\nEMEA | 1200");
}

TEST(ExtractOffice, XlsxSheetRowsWithSharedStrings) {
  const std::string xlsx = files::MakeXlsx("Orders", {{"Order", "Amount"}, {"A-17", "99.5"}});
  auto text = ExtractText("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx, {});
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_EQ(*text, "## Orders\nOrder | Amount\nA-17 | 99.5");
}

TEST(ExtractOffice, PptxSlidesInNumericOrder) {
  std::vector<std::vector<std::string>> slides;
  for (int i = 1; i <= 11; ++i) slides.push_back({"Point " + std::to_string(i)});
  auto text = ExtractText("application/vnd.openxmlformats-officedocument.presentationml.presentation",
                          files::MakePptx(slides), {});
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_LT(text->find("Point 2\n"), text->find("Point 10\n"));
  EXPECT_THAT(*text, HasSubstr("## Slide 11\nPoint 11"));
}

TEST(ExtractOffice, ZipBombIsRefusedAtTheBudget) {
  ExtractLimits limits;
  limits.max_unpacked_bytes = 1 << 20;
  const std::string bomb = files::MakeZipBombDocx(8 << 20);
  EXPECT_LT(bomb.size(), 1u << 20);  // it really is a bomb: small on disk
  auto text = ExtractText(kDocx, bomb, limits);
  ASSERT_FALSE(text);
  EXPECT_THAT(text.error().message(), HasSubstr("zip bomb"));
}

TEST(ExtractOffice, DamagedZipIsRefused) {
  std::string docx = files::MakeDocx({"hello"});
  auto text = ExtractText(kDocx, docx.substr(0, docx.size() - 30), {});
  ASSERT_FALSE(text);
  EXPECT_THAT(text.error().message(), HasSubstr("DOCX"));
}

TEST(ExtractEml, MultipartPrefersPlainTextAndDecodesHeaders) {
  const std::string eml =
      "From: =?UTF-8?B?SsO2cmc=?= <jorg@example.com>\r\n"
      "To: support@example.com\r\n"
      "Subject: =?ISO-8859-1?Q?Caf=E9_order?=\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
      "--XX\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      "The order arrived damaged =E2=80=94 please refund.=\r\n"
      " Thanks\r\n"
      "--XX\r\n"
      "Content-Type: application/pdf; name=\"receipt.pdf\"\r\n"
      "Content-Disposition: attachment; filename=\"receipt.pdf\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n"
      "JVBERi0xLjQK\r\n"
      "--XX--\r\n";
  auto text = ExtractText("message/rfc822", eml, {});
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_THAT(*text, HasSubstr("Subject: Caf\xC3\xA9 order\n"));
  EXPECT_THAT(*text, HasSubstr("From: J\xC3\xB6rg <jorg@example.com>"));
  EXPECT_THAT(*text, HasSubstr("The order arrived damaged \xE2\x80\x94 please refund. Thanks"));
  EXPECT_THAT(*text, HasSubstr("Attachments: receipt.pdf"));
}

TEST(ExtractEml, HtmlOnlyBodyIsConverted) {
  const std::string eml =
      "From: a@example.com\nSubject: hi\nContent-Type: text/html; charset=utf-8\n"
      "Content-Transfer-Encoding: base64\n\nPGgxPlN0YXR1czwvaDE+PHA+QWxsICZhbXA7IGdvb2Q8L3A+\n";
  auto text = ExtractText("message/rfc822", eml, {});
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_THAT(*text, HasSubstr("# Status\n\nAll & good"));
}

TEST(ExtractText, HtmlAndPlainText) {
  auto html = ExtractText("text/html", "<html><script>x()</script><p>Hello <b>there</b></p></html>", {});
  ASSERT_TRUE(html);
  EXPECT_EQ(*html, "Hello there");
  auto latin1 = ExtractText("text/plain", "caf\xE9 cr\xE8me", {});
  ASSERT_TRUE(latin1);
  EXPECT_EQ(*latin1, "caf\xC3\xA9 cr\xC3\xA8me");
  auto utf16 = ExtractText("text/plain", std::string("\xFF\xFEh\0i\0", 6), {});
  ASSERT_TRUE(utf16);
  EXPECT_EQ(*utf16, "hi");
}

TEST(ExtractText, BinaryBytesAreRefusedWhateverTheName) {
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>((i * 7919 + 13) % 256));
  auto type = SniffType(binary);
  ASSERT_TRUE(type);
  auto text = ExtractText(*type, binary, {});
  ASSERT_FALSE(text) << *type;
  EXPECT_THAT(text.error().message(), ::testing::AnyOf(HasSubstr("unsupported type"), HasSubstr("binary")));
}

TEST(ExtractText, LongTextIsCutAtACharacterBoundary) {
  ExtractLimits limits;
  limits.max_text_bytes = 5;
  bool truncated = false;
  auto text = ExtractText("text/plain", "ab\xC3\xA9\xC3\xA9xyz", limits, &truncated);
  ASSERT_TRUE(text);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(*text, "ab\xC3\xA9");
  EXPECT_TRUE(transforms::IsValidUtf8(*text));
}

TEST(ExtractText, FileOverTheByteLimitIsRefused) {
  ExtractLimits limits;
  limits.max_file_bytes = 10;
  auto text = ExtractText("text/plain", "this is more than ten bytes", limits);
  ASSERT_FALSE(text);
  EXPECT_THAT(text.error().message(), HasSubstr("max_file_bytes"));
}

}  // namespace
}  // namespace deskpipe::extract

#include "transforms/html_to_text.h"

#include <gtest/gtest.h>

#include <string>

namespace deskpipe::transforms {
namespace {

std::string Convert(std::string_view html) {
  auto text = HtmlToText(html);
  EXPECT_TRUE(text.has_value()) << (text ? "" : text.error().ToString());
  return text ? *text : std::string();
}

TEST(HtmlToText, EmptyInput) {
  EXPECT_EQ(Convert(""), "");
  EXPECT_EQ(Convert("   \n\t "), "");
  EXPECT_EQ(Convert("<div></div><p> </p><br><br>"), "");
}

TEST(HtmlToText, NulBytesNeverReachTheText) {
  using namespace std::string_literals;
  // Found by the fuzzer: a NUL inside an unknown element came through the parser into the output.
  for (const std::string& html : {"<mplli>a\0b</mplli>"s, "<p>x\0y</p>"s, "plain\0text"s, "<b>&#0;z</b>"s}) {
    const std::string text = Convert(html);
    EXPECT_EQ(text.find('\0'), std::string::npos) << text.size();
    EXPECT_TRUE(IsValidUtf8(text));
    EXPECT_FALSE(text.empty());
  }
  // The fuzzer's input: an overflowing numeric reference followed by a NUL inside an unknown element.
  const std::string found = "<m\x94plli>&#821795"s + std::string(118, '1') + "\0bmp;pl'i\xff>"s;
  const std::string text = Convert(found);
  EXPECT_EQ(text.find('\0'), std::string::npos);
  EXPECT_TRUE(IsValidUtf8(text)) << text;
}

TEST(HtmlToText, PlainTextCollapsesWhitespace) {
  EXPECT_EQ(Convert("  hello \n\n  world\t! "), "hello world !");
}

TEST(HtmlToText, ParagraphsDivsAndBreaks) {
  EXPECT_EQ(Convert("<p>One</p><p>Two</p>"), "One\n\nTwo");
  EXPECT_EQ(Convert("<div>One</div><div>Two</div>"), "One\nTwo");
  EXPECT_EQ(Convert("One<br>Two<br/>Three"), "One\nTwo\nThree");
  // Freshdesk's own description HTML: <br><br> is a paragraph break.
  EXPECT_EQ(Convert("<div>Hello,<br><br>Exporting the <b>Monthly usage</b> report fails.<br><br>Thanks,<br>"
                    "Priya</div>"),
            "Hello,\n\nExporting the Monthly usage report fails.\n\nThanks,\nPriya");
}

TEST(HtmlToText, NoRunsOfBlankLines) {
  const std::string text = Convert("<p>a</p><br><br><br><p></p><div><br></div><p>b</p><br><br><br><br>c");
  EXPECT_EQ(text, "a\n\nb\n\nc");
  EXPECT_EQ(text.find("\n\n\n"), std::string::npos);
}

TEST(HtmlToText, InlineElementsDoNotBreakWords) {
  EXPECT_EQ(Convert("<p>un<b>believ</b>able <i>and</i> <span>more</span></p>"), "unbelievable and more");
}

TEST(HtmlToText, Headings) {
  EXPECT_EQ(Convert("<h1>Title</h1><p>Intro</p><h2>Setup</h2><p>Do this.</p><h3>Detail</h3>x"),
            "# Title\n\nIntro\n\n## Setup\n\nDo this.\n\n### Detail\n\nx");
  EXPECT_EQ(Convert("text before<h4>Inline heading</h4>after"),
            "text before\n\n#### Inline heading\n\nafter");
}

TEST(HtmlToText, EmptyHeadingLeavesNoMarker) { EXPECT_EQ(Convert("<h2></h2><p>Body</p>"), "Body"); }

TEST(HtmlToText, UnorderedAndOrderedLists) {
  EXPECT_EQ(Convert("<p>Steps:</p><ol><li>Open settings</li><li>Click <b>Export</b></li><li>Wait</li></ol>"),
            "Steps:\n\n1. Open settings\n2. Click Export\n3. Wait");
  EXPECT_EQ(Convert("<ul><li>apples</li><li>pears</li></ul>after"), "- apples\n- pears\nafter");
  EXPECT_EQ(Convert("<ol start=\"4\"><li>four</li><li>five</li></ol>"), "4. four\n5. five");
}

TEST(HtmlToText, NestedLists) {
  EXPECT_EQ(Convert("<ol><li>First<ul><li>sub a</li><li>sub b<ol><li>deep</li></ol></li></ul></li>"
                    "<li>Second</li></ol>"),
            "1. First\n  - sub a\n  - sub b\n    1. deep\n2. Second");
}

TEST(HtmlToText, EmptyListItemMarkerDoesNotLeak) {
  EXPECT_EQ(Convert("<ul><li></li></ul><p>After</p>"), "After");
}

TEST(HtmlToText, TablesRowByRow) {
  EXPECT_EQ(
      Convert("<table><thead><tr><th>Plan</th><th>Price</th></tr></thead>"
              "<tbody><tr><td>Basic</td><td>$10</td></tr><tr><td>Pro</td><td><p>$20</p><p>/mo</p></td></tr>"
              "</tbody></table><p>after</p>"),
      "Plan | Price\nBasic | $10\nPro | $20 /mo\n\nafter");
}

TEST(HtmlToText, TableWithEmptyFirstCell) {
  EXPECT_EQ(Convert("<table><tr><td></td><td>x</td></tr></table>"), "| x");
}

TEST(HtmlToText, Links) {
  EXPECT_EQ(Convert("See <a href=\"https://example.com/docs\">the docs</a> now."),
            "See the docs (https://example.com/docs) now.");
  // Same text and url: no repetition.
  EXPECT_EQ(Convert("<a href=\"https://example.com/\">https://example.com/</a>"), "https://example.com/");
  EXPECT_EQ(Convert("<a href=\"https://example.com/\">example.com</a>"), "example.com");
  EXPECT_EQ(Convert("<a href=\"mailto:help@example.com\">help@example.com</a>"), "help@example.com");
  // In-page anchors, javascript and text-less links add nothing.
  EXPECT_EQ(Convert("<a href=\"#top\">top</a> <a href=\"javascript:void(0)\">x</a><a href=\"/a.png\"></a>"),
            "top x");
}

TEST(HtmlToText, PreAndCodeVerbatim) {
  EXPECT_EQ(
      Convert("<p>Run:</p><pre>curl -u key:X \\\n    https://x.freshdesk.com/api\n\n\n  done</pre><p>ok</p>"),
      "Run:\n\ncurl -u key:X \\\n    https://x.freshdesk.com/api\n\n\n  done\n\nok");
  EXPECT_EQ(Convert("<p>Set <code>a  =  1</code> then</p>"), "Set a  =  1 then");
  EXPECT_EQ(Convert("<pre><code>x &lt; y\n  z</code></pre>"), "x < y\n  z");
}

TEST(HtmlToText, Entities) {
  EXPECT_EQ(Convert("Tom &amp; Jerry &lt;3 &gt; a&nbsp;b&nbsp;&nbsp;c it&#8217;s &#x2014; &quot;q&quot;"),
            "Tom & Jerry <3 > a b c it\xE2\x80\x99s \xE2\x80\x94 \"q\"");
}

TEST(HtmlToText, ScriptStyleHeadDropped) {
  EXPECT_EQ(Convert("<html><head><title>T</title><style>p{color:red}</style><script>var x=1;</script></head>"
                    "<body><p>Visible</p><script>alert('no')</script><noscript>nojs</noscript>"
                    "<style>.a{}</style><!-- comment --><p>Also</p></body></html>"),
            "Visible\n\nAlso");
}

TEST(HtmlToText, FreshdeskQuoteRemoved) {
  const std::string html =
      "<div>Thanks, that fixed it!</div>"
      "<div class=\"freshdesk_quote\"><blockquote class=\"freshdesk_quote\">On Mon, Tom wrote:<br>"
      "Large exports now run in the background.</blockquote></div><div>Priya</div>";
  EXPECT_EQ(Convert(html), "Thanks, that fixed it!\nPriya");
  EXPECT_EQ(Convert("<p>New</p><blockquote class=\"quote freshdesk_quote\">old history</blockquote>"), "New");
  EXPECT_EQ(
      Convert("<p>Reply</p><div class=\"gmail_quote\">On Tue wrote: <blockquote>old</blockquote></div>"),
      "Reply");
  // An ordinary blockquote stays.
  EXPECT_EQ(Convert("<blockquote>Quoted policy</blockquote>"), "Quoted policy");
}

TEST(HtmlToText, ImagesDropped) {
  EXPECT_EQ(Convert("<p>See <img src=\"x.png\" alt=\"screenshot\"> attached</p>"), "See attached");
}

TEST(HtmlToText, InvalidUtf8Repaired) {
  const std::string html = std::string("<p>caf\xC3\xA9 bad\xFF byte \xE2\x82 end</p>");
  const std::string text = Convert(html);
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(text, "caf\xC3\xA9 bad\xEF\xBF\xBD byte \xEF\xBF\xBD\xEF\xBF\xBD end");
  // Also without markup (the fast path).
  EXPECT_EQ(Convert("a\xC0\xAF"), "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(HtmlToText, MalformedHtmlStillConverts) {
  EXPECT_EQ(Convert("<p>unclosed <b>bold <i>both</p><p>next"), "unclosed bold both\n\nnext");
  EXPECT_EQ(Convert("<<>>&&&;<p</div></table>text"), "<<>>&&&;text");
}

TEST(HtmlToText, ModerateNestingConverts) {
  std::string html;
  for (int i = 0; i < 1500; ++i) html += "<div>";
  html += "deep";
  EXPECT_EQ(Convert(html), "deep");
}

TEST(HtmlToText, PathologicalNestingIsRefusedNotHung) {
  std::string html;
  for (int i = 0; i < 100000; ++i) html += "<div><span>";
  html += "deep";
  auto text = HtmlToText(html);
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(text.error().message().find("deep"), std::string::npos);
}

TEST(HtmlToText, LongFlatDocumentsAreNotMistakenForDeepOnes) {
  // Unclosed <p> and <li> (old-style email HTML) and many closed siblings.
  std::string html = "<ul>";
  for (int i = 0; i < 3000; ++i) html += "<li>item " + std::to_string(i);
  html += "</ul>";
  for (int i = 0; i < 3000; ++i) html += "<p>para <b>" + std::to_string(i) + "</b>";
  auto text = HtmlToText(html);
  ASSERT_TRUE(text.has_value()) << text.error().ToString();
  EXPECT_NE(text->find("- item 2999\n"), std::string::npos);
  EXPECT_NE(text->find("para 2999"), std::string::npos);
}

TEST(HtmlToText, NulBytesDoNotTruncate) {
  const std::string html("a\0b<p>c</p>", 11);
  const std::string text = Convert(html);
  EXPECT_NE(text.find('a'), std::string::npos);
  EXPECT_NE(text.find('c'), std::string::npos);
  EXPECT_TRUE(IsValidUtf8(text));
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii text longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("abc\xE2\x82"));       // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

TEST(Utf8, RepairReplacesEachBadByte) {
  EXPECT_EQ(RepairUtf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(RepairUtf8("a\xFF"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(RepairUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(RepairUtf8("\xED\xA0\x80x"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
  EXPECT_TRUE(IsValidUtf8(RepairUtf8("\xF0\x9F\x98 \xF0\x9F\x98\x80 \xC1\xBF")));
}

}  // namespace
}  // namespace deskpipe::transforms

namespace deskpipe::transforms {
namespace {

TEST(HtmlToText, DropsCitedRepliesOfAppleMail) {
  auto text = HtmlToText("<div>Works now.</div><blockquote type=\"cite\"><div>Try again?</div></blockquote>"
                         "<blockquote><p>A real quotation</p></blockquote>");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "Works now.\n\nA real quotation");
}

}  // namespace
}  // namespace deskpipe::transforms

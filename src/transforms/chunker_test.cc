#include "transforms/chunker.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/hash.h"
#include "core/ids.h"
#include "transforms/html_to_text.h"

namespace deskpipe::transforms {
namespace {

const TokenCounter kWords = [](std::string_view s) { return CountWordTokens(s); };

// Numbered words "w0 w1 …" so each word's presence can be checked; a sentence end every 7 words and a
// paragraph break every 30.
std::string Words(int from, int count) {
  std::string out;
  for (int i = from; i < from + count; ++i) {
    if (!out.empty()) out += (i - from) % 30 == 0 ? "\n\n" : " ";
    out += "w" + std::to_string(i);
    if ((i - from) % 7 == 6) out += ".";
  }
  return out;
}

Document Doc(std::vector<Section> sections, std::string title = "Export fails") {
  Document d;
  d.id = "acme_freshdesk_1";
  d.title = std::move(title);
  d.sections = std::move(sections);
  return d;
}

std::vector<Chunk> MakeChunks(Document d, int max_tokens = 128, int overlap = 16,
                              const TokenCounter& counter = kWords) {
  ChunkDocument(d, {.max_tokens = max_tokens, .overlap_tokens = overlap}, counter);
  return d.chunks;
}

void ExpectWithinBudget(const std::vector<Chunk>& chunks, int max_tokens, const TokenCounter& counter) {
  for (const Chunk& c : chunks) {
    EXPECT_LE(counter(c.text), max_tokens) << c.text;
    EXPECT_FALSE(c.text.empty());
    EXPECT_TRUE(IsValidUtf8(c.text));
  }
}

TEST(CountWordTokens, WordsAndPunctuation) {
  EXPECT_EQ(CountWordTokens(""), 0);
  EXPECT_EQ(CountWordTokens("   \n"), 0);
  EXPECT_EQ(CountWordTokens("hello world"), 2);
  EXPECT_EQ(CountWordTokens("It's 50k rows, ok?"), 8);  // It ' s 50k rows , ok ?
  EXPECT_EQ(CountWordTokens("caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87"), 2);
}

TEST(Chunker, SmallSectionsShareOneChunkWithTitlePrefix) {
  std::vector<Chunk> chunks = MakeChunks(
      Doc({{"customer", "Export times out."}, {"agent", "Try the background export."}, {"", "Note"}}));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text,
            "Export fails\n[customer] Export times out.\n\n[agent] Try the background export.\n\nNote");
  EXPECT_EQ(chunks[0].id, MakeChunkId("acme_freshdesk_1", 0));
  EXPECT_EQ(chunks[0].index, 0);
  EXPECT_EQ(chunks[0].content_hash, HashHex(chunks[0].text));
}

TEST(Chunker, EverySectionStartsWithTitleLine) {
  std::vector<Chunk> chunks = MakeChunks(
      Doc({{"customer", Words(0, 50)}, {"agent", Words(100, 50)}, {"customer", Words(200, 300)}}), 64);
  ASSERT_GT(chunks.size(), 3u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].text.rfind("Export fails\n[", 0), 0u) << chunks[i].text;
    if (i > 0) {
      EXPECT_GT(chunks[i].index, chunks[i - 1].index);
    }
    EXPECT_EQ(chunks[i].id, "acme_freshdesk_1#" + std::to_string(chunks[i].index));
    EXPECT_EQ(chunks[i].content_hash, HashHex(chunks[i].text));
  }
  ExpectWithinBudget(chunks, 64, kWords);
}

TEST(Chunker, SectionThatDoesNotFitStartsANewChunk) {
  std::vector<Chunk> chunks = MakeChunks(Doc({{"customer", Words(0, 40)}, {"agent", Words(100, 40)}}), 64);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "Export fails\n[customer] " + Words(0, 40));
  EXPECT_EQ(chunks[1].text, "Export fails\n[agent] " + Words(100, 40));
}

TEST(Chunker, BudgetRespectedAndNothingLost) {
  for (int max_tokens : {16, 32, 64, 128, 512}) {
    std::vector<Section> sections{
        {"customer", Words(0, 1000)}, {"agent", Words(2000, 3)}, {"private note", Words(3000, 200)}};
    std::vector<Chunk> chunks = MakeChunks(Doc(sections), max_tokens, 16);
    ExpectWithinBudget(chunks, max_tokens, kWords);
    std::set<std::string> seen;
    for (const Chunk& c : chunks) {
      std::istringstream in(c.text);
      std::string w;
      while (in >> w) {
        while (!w.empty() && w.back() == '.') w.pop_back();
        seen.insert(w);
      }
    }
    for (int i : {0, 1, 499, 998, 999, 2000, 2002, 3000, 3199}) {
      EXPECT_TRUE(seen.count("w" + std::to_string(i))) << "w" << i << " lost at max_tokens " << max_tokens;
    }
  }
}

TEST(Chunker, SplitSectionsOverlap) {
  std::vector<Chunk> chunks = MakeChunks(Doc({{"agent", Words(0, 400)}}), 64, 10);
  ASSERT_GE(chunks.size(), 3u);
  const std::string head = "Export fails\n[agent] ";
  for (size_t i = 1; i < chunks.size(); ++i) {
    ASSERT_EQ(chunks[i].text.rfind(head, 0), 0u);
    ASSERT_EQ(chunks[i - 1].text.rfind(head, 0), 0u);
    const std::string prev = chunks[i - 1].text.substr(head.size());
    const std::string body = chunks[i].text.substr(head.size());
    // The next piece starts with a tail of the previous one: some words, at most ~10 tokens.
    std::string first_word = body.substr(0, body.find_first_of(" \n"));
    const size_t at = prev.rfind(first_word);
    ASSERT_NE(at, std::string::npos) << "no overlap between chunk " << i - 1 << " and " << i;
    const std::string tail = prev.substr(at);
    EXPECT_EQ(body.rfind(tail, 0), 0u) << "tail '" << tail << "' not at the start of chunk " << i;
    EXPECT_GT(CountWordTokens(tail), 0);
    EXPECT_LE(CountWordTokens(tail), 10);
    EXPECT_GT(body.size(), tail.size());  // progress
  }
}

TEST(Chunker, NoOverlapWhenDisabled) {
  std::vector<Chunk> chunks = MakeChunks(Doc({{"agent", Words(0, 200)}}, ""), 32, 0);
  ASSERT_GE(chunks.size(), 2u);
  std::set<std::string> seen;
  for (const Chunk& c : chunks) {
    std::istringstream in(c.text);
    std::string w;
    while (in >> w) {
      if (w[0] != 'w') continue;
      EXPECT_TRUE(seen.insert(w).second) << w << " repeated";
    }
  }
}

TEST(Chunker, SplitPrefersParagraphBreaks) {
  // Paragraphs of 20 words; a budget of ~50 tokens fits two of them.
  std::string text;
  for (int p = 0; p < 6; ++p) {
    if (!text.empty()) text += "\n\n";
    for (int i = 0; i < 20; ++i) text += (i ? " p" : "p") + std::to_string(p) + "x" + std::to_string(i);
  }
  std::vector<Chunk> chunks = MakeChunks(Doc({{"", text}}, ""), 50, 0);
  ASSERT_GE(chunks.size(), 3u);
  for (const Chunk& c : chunks) {
    EXPECT_EQ(c.text.substr(c.text.size() - 3), "x19") << "chunk does not end at a paragraph: " << c.text;
  }
}

TEST(Chunker, AppendingSectionsKeepsEarlierChunks) {
  std::vector<Section> sections{
      {"customer", Words(0, 30)}, {"agent", Words(100, 200)}, {"customer", Words(400, 20)}};
  const std::vector<Chunk> before = MakeChunks(Doc(sections), 64);
  ASSERT_GE(before.size(), 3u);
  sections.push_back({"agent", "Thanks, closing."});
  sections.push_back({"customer", Words(600, 90)});
  const std::vector<Chunk> after = MakeChunks(Doc(sections), 64);
  ASSERT_GT(after.size(), before.size());
  // Every chunk but the last one of the earlier version is identical; the last may have taken in new text
  // but keeps its id and starts the same way.
  for (size_t i = 0; i + 1 < before.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].content_hash, before[i].content_hash);
    EXPECT_EQ(after[i].text, before[i].text);
  }
  const Chunk& last = before.back();
  EXPECT_EQ(after[before.size() - 1].id, last.id);
  EXPECT_EQ(after[before.size() - 1].text.rfind(last.text, 0), 0u);
}

TEST(Chunker, AppendingToAFullLastChunkKeepsAllEarlierChunks) {
  std::vector<Section> sections{{"customer", Words(0, 45)}};  // 56 of 64 tokens
  const std::vector<Chunk> before = MakeChunks(Doc(sections), 64);
  ASSERT_EQ(before.size(), 1u);
  sections.push_back({"agent", Words(100, 20)});
  const std::vector<Chunk> after = MakeChunks(Doc(sections), 64);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].id, before[0].id);
  EXPECT_EQ(after[0].content_hash, before[0].content_hash);
}

TEST(Chunker, Deterministic) {
  Document d = Doc({{"customer", Words(0, 700)}, {"agent", Words(900, 77)}});
  EXPECT_EQ(MakeChunks(d, 100, 12).size(), MakeChunks(d, 100, 12).size());
  const std::vector<Chunk> a = MakeChunks(d, 100, 12);
  const std::vector<Chunk> b = MakeChunks(d, 100, 12);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].text, b[i].text);
}

TEST(Chunker, EmptyDocument) {
  std::vector<Chunk> with_title = MakeChunks(Doc({{"customer", "  \n "}}, "Only a title"));
  ASSERT_EQ(with_title.size(), 1u);
  EXPECT_EQ(with_title[0].text, "Only a title");
  EXPECT_EQ(with_title[0].id, "acme_freshdesk_1#0");
  EXPECT_TRUE(MakeChunks(Doc({}, "")).empty());
  EXPECT_TRUE(MakeChunks(Doc({{"agent", ""}}, "  ")).empty());
}

TEST(Chunker, ReplacesExistingChunks) {
  Document d = Doc({{"", "short"}});
  d.chunks.resize(5);
  ChunkDocument(d, {}, kWords);
  EXPECT_EQ(d.chunks.size(), 1u);
}

TEST(Chunker, LongTitleAndLabelAreCut) {
  const std::string title = Words(0, 200);
  std::vector<Chunk> chunks = MakeChunks(Doc({{Words(500, 100), Words(1000, 100)}}, title), 64);
  ExpectWithinBudget(chunks, 64, kWords);
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks[0].text.rfind("w0 w1", 0), 0u);
  EXPECT_NE(chunks[0].text.find("\n[w500"), std::string::npos);
  EXPECT_NE(chunks[0].text.find("w1000"), std::string::npos);
}

TEST(Chunker, HugeWordIsCutAtCharacterBoundaries) {
  std::string blob;
  for (int i = 0; i < 3000; ++i) blob += "\xC3\xA9";  // é, 2 bytes each
  const TokenCounter bytes_over_4 = [](std::string_view s) { return static_cast<int>((s.size() + 3) / 4); };
  std::vector<Chunk> chunks =
      MakeChunks(Doc({{"customer", "before " + blob + " after"}}), 128, 16, bytes_over_4);
  ASSERT_GT(chunks.size(), 10u);
  ExpectWithinBudget(chunks, 128, bytes_over_4);
  EXPECT_NE(chunks.front().text.find("before"), std::string::npos);
  EXPECT_NE(chunks.back().text.find("after"), std::string::npos);
}

TEST(Chunker, NonAdditiveCounterStillWithinBudget) {
  // Counts words plus one per line: pieces do not add up exactly.
  const TokenCounter odd = [](std::string_view s) {
    int lines = 1;
    for (char c : s) lines += c == '\n';
    return CountWordTokens(s) + lines + static_cast<int>(s.size() / 50);
  };
  std::vector<Chunk> chunks = MakeChunks(
      Doc({{"customer", Words(0, 500)}, {"agent", Words(600, 10)}, {"agent", Words(700, 90)}}), 48, 8, odd);
  ASSERT_GT(chunks.size(), 5u);
  ExpectWithinBudget(chunks, 48, odd);
}

TEST(Chunker, TinyOrZeroMaxTokensUsesSaneBudget) {
  std::vector<Chunk> zero = MakeChunks(Doc({{"customer", Words(0, 300)}}), 0);
  ExpectWithinBudget(zero, 128, kWords);
  EXPECT_GT(zero.size(), 1u);
  std::vector<Chunk> tiny = MakeChunks(Doc({{"customer", Words(0, 100)}}), 3, 100);
  ExpectWithinBudget(tiny, 16, kWords);
  EXPECT_GT(tiny.size(), 5u);
}

// A thread of `n` messages of varied length; message `edited` gets extra words when `edit` is set.
// With `uniform`, every message is 12 words, so plain greedy packing would shift every later chunk.
Document Thread(int n, int edited = -1, int extra_words = 0, bool uniform = false) {
  std::vector<Section> sections;
  for (int i = 0; i < n; ++i) {
    int words = uniform ? 12 : 5 + (i * 37) % 90;
    if (i == edited) words += extra_words;
    sections.push_back({i % 2 ? "agent" : "customer", Words(i * 1000, words)});
  }
  return Doc(std::move(sections));
}

std::map<std::string, std::string> IdToHash(const std::vector<Chunk>& chunks) {
  std::map<std::string, std::string> out;
  for (const Chunk& c : chunks) out[c.id] = c.content_hash;
  return out;
}

TEST(Chunker, EditingOneMessageKeepsTheOtherChunksIdsAndHashes) {
  for (bool uniform : {false, true}) {
    const std::vector<Chunk> before = MakeChunks(Thread(24, -1, 0, uniform), 64);
    for (int edited : {0, 3, 9}) {
      for (int extra : {3, 40, 400}) {  // grows within its chunk, past it, into several pieces
        SCOPED_TRACE("edited " + std::to_string(edited) + " extra " + std::to_string(extra) +
                     (uniform ? " uniform" : ""));
        const std::vector<Chunk> after = MakeChunks(Thread(24, edited, extra, uniform), 64);
        const auto after_ids = IdToHash(after);
        // Every chunk closed before the edited message keeps its id and hash.
        for (size_t i = 0; i + 1 < before.size(); ++i) {
          if (before[i + 1].index / kPiecesPerSection > edited) break;
          auto it = after_ids.find(before[i].id);
          ASSERT_NE(it, after_ids.end()) << before[i].id;
          EXPECT_EQ(it->second, before[i].content_hash) << before[i].id;
        }
        // After the edit, packing falls back into step within a few messages: from there on both lists agree.
        size_t common = 0;
        while (common < before.size() && common < after.size() &&
               before[before.size() - 1 - common].id == after[after.size() - 1 - common].id &&
               before[before.size() - 1 - common].content_hash ==
                   after[after.size() - 1 - common].content_hash) {
          ++common;
        }
        ASSERT_GT(common, 0u);
        const int resync_section = before[before.size() - common].index / kPiecesPerSection;
        EXPECT_GT(resync_section, edited);
        EXPECT_LE(resync_section, edited + 8);
      }
    }
  }
}

}  // namespace
}  // namespace deskpipe::transforms

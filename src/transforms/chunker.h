// Splits a Document's sections into the Chunks that are embedded and indexed.
//
// A chunk's text is the document's title on its own line, then as many whole sections as fit, each rendered
// "[label] text" ("text" when the label is empty) and separated by a blank line. A section that does not fit
// in the space left starts a new chunk; one too long for any chunk is split — at the last paragraph break
// that keeps the piece at least half full, else the last line/sentence end that does, else the last word
// boundary, else (one huge word) a UTF-8 character boundary — and each continuation piece starts with about
// overlap_tokens of the previous piece's end (whole words) and repeats the "[label] ".
//
// Every chunk counts ≤ max_tokens with the given counter (counters are assumed monotonic: a longer prefix of
// a text never counts fewer tokens; each chunk's full text is counted before it is accepted). The title is
// cut at a word boundary to at most a quarter of the budget, and so is a label; whitespace in the title
// collapses.
//
// Packing is front to back: a section joins the open chunk while it fits, except that an "anchor" section —
// about one in four, chosen by a hash of its own label and text — always starts a new chunk. Chunk indices
// are not a running count but kPiecesPerSection × (index in document.sections of the chunk's first section)
// + (the piece of that section), so they increase along the document without being contiguous. Together
// this makes chunks stable: when a document changes elsewhere — a message edited, a message appended, an
// attachment added — every chunk whose sections did not change and that does not follow the change before
// the next anchor keeps its id, text and hash. (The title is in every chunk: a new title changes them all.)
// A single section yields at most kPiecesPerSection chunks; the rest of a longer one is not indexed.
//
// Thread-safe (no shared state); the counter is called from the calling thread only.
#pragma once

#include <functional>
#include <string_view>

#include "core/record.h"

namespace deskpipe::transforms {

inline constexpr int kPiecesPerSection = 10000;
inline constexpr size_t kMaxSections = 200000;  // sections past this share the last index band

struct ChunkerOptions {
  int max_tokens = 128;     // per chunk, including the title prefix; ≤ 0 ⇒ 128; below 16 ⇒ 16
  int overlap_tokens = 16;  // carried from the end of the previous piece when a section is split; capped at
                            // half the space a piece has
};

// Number of tokens `text` counts as for the embedder.
using TokenCounter = std::function<int(std::string_view)>;

// Replaces document.chunks with the chunks of document.sections: index as above, id MakeChunkId(document.id,
// index),
// content_hash HashHex(text). Sections whose text is empty or whitespace are skipped. Never produces an empty
// chunk; a document without text yields one chunk holding just the title, or no chunk if it has no title.
void ChunkDocument(Document& document, const ChunkerOptions& options, const TokenCounter& count_tokens);

// A tokenizer-free approximation: each run of letters/digits (any non-ASCII byte counts as a letter) is one
// token, and so is each ASCII punctuation or symbol character. Whitespace counts nothing.
int CountWordTokens(std::string_view text);

}  // namespace deskpipe::transforms

// One tenant's vector index as segments, so a long sync's memory stays flat: a growing segment held in memory
// (a VectorIndex saved at {base}, e.g. vectors/acme.usearch, with a `.gen` sidecar naming the SQL vector
// generation it matches) and sealed segments, immutable files {base}.sealed-{last key} that are memory-mapped
// only when a search first needs them — the writer never loads them. The growing segment is sealed when it
// reaches Options::seal_at vectors.
//
// Keys are chunk rowids, which only grow (AUTOINCREMENT), so each sealed segment holds a key range and the
// growing segment every key above the last sealed one: after a crash only the growing segment is rebuilt
// from SQL. A sealed segment keeps the vectors of chunks deleted after it was sealed ("dead" keys), so a
// search over sealed segments must be given a filter that accepts only live keys (requires_filter()).
//
// Thread-safety: not thread-safe; the owning store serializes calls (AddBatch spreads its graph insertions
// over worker threads). Lifetime: Open() → use → Save() → destroy (the destructor does not save); the sealed
// files must stay while the index is open.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/vector_index.h"

namespace deskpipe {

class SegmentedIndex {
 public:
  struct Options {
    int dimension = 0;
    // Vectors in the growing segment at which it is sealed (~9 MB of codes and graph at 16,384 512-d vectors).
    // Required: the store passes StoreOptions::vector_segment_size, where the default and its reasons live.
    size_t seal_at = 0;
    VectorIndex::Params params;
    // Reads the files as they are and writes none: a stale growing segment is refilled in memory only, and
    // Seal/Save do nothing (read-only verbs).
    bool read_only = false;
  };

  // Opens the segments at `base_path`: the sealed files are listed (not read) and the growing segment is
  // loaded when its sidecar names `generation`; otherwise it starts empty and stale() is true, and the
  // caller refills it with every key above sealed_through() (AddBatch, Seal when needed, then Save).
  static Result<std::unique_ptr<SegmentedIndex>> Open(const std::string& base_path, const Options& options,
                                                      int64_t generation);
  // Removes every file of the index at `base_path` (growing, sidecar, sealed, temporaries).
  static Result<void> RemoveFiles(const std::string& base_path);

  // True when the growing segment did not match SQL at Open() and must be refilled.
  bool stale() const { return stale_; }
  // The last key of the last sealed segment; 0 when none.
  int64_t sealed_through() const { return sealed_.empty() ? 0 : sealed_.back().last_key; }
  bool requires_filter() const { return !sealed_.empty(); }
  size_t sealed_segments() const { return sealed_.size(); }

  // Adds to the growing segment (keys must be above sealed_through()); see VectorIndex::AddBatch.
  Result<void> AddBatch(const std::vector<std::pair<int64_t, const std::vector<float>*>>& items,
                        size_t max_threads = 0);
  // Removes `key` from the growing segment; a key in a sealed segment becomes dead there.
  Result<void> Remove(int64_t key);
  // Seals the growing segment once it holds seal_at vectors (Seal() seals any non-empty one). The growing
  // segment's sidecar is removed first, so a crash midway leaves a segment that is rebuilt, never one that
  // repeats the sealed keys.
  Result<void> SealIfFull();
  Result<void> Seal();

  // The `k` best (key, cosine estimate) over all segments, best first; `filter` as in VectorIndex::Search
  // (required when requires_filter()). The segments are searched on worker threads, so `filter` is called
  // concurrently.
  Result<std::vector<std::pair<int64_t, float>>> Search(const std::vector<float>& query, int k,
                                                        const std::function<bool(int64_t)>& filter = {},
                                                        size_t expansion = 0);
  // VectorIndex::ExactSearch over `keys`, each looked up in the segment its range puts it in.
  Result<std::vector<std::pair<int64_t, float>>> ExactSearch(const std::vector<float>& query, int k,
                                                             const std::vector<int64_t>& keys);
  // Every key of every segment, dead ones included, ascending.
  Result<std::vector<int64_t>> Keys();
  // Vectors in the growing segment.
  size_t growing_size() const { return growing_->size(); }
  const VectorIndex::Params& params() const { return options_.params; }

  // Saves the growing segment and then its sidecar naming `generation`.
  Result<void> Save(int64_t generation);

 private:
  struct Sealed {
    int64_t last_key = 0;
    std::string path;
    std::unique_ptr<VectorIndex> view;  // opened on first use
  };
  SegmentedIndex(std::string base_path, Options options, std::vector<Sealed> sealed,
                 std::unique_ptr<VectorIndex> growing, bool stale);
  Result<VectorIndex*> View(Sealed& segment);
  // The segment `key` falls in: a sealed one, or nullptr for the growing one.
  Sealed* SegmentOf(int64_t key);

  std::string base_path_;
  Options options_;
  std::vector<Sealed> sealed_;  // ascending by last_key
  std::unique_ptr<VectorIndex> growing_;
  bool stale_ = false;
};

}  // namespace deskpipe

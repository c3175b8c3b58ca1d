// Scratch memory kept between calls, for the forward pass and its products: the model starts its shard
// threads per call, so buffers live in a pool rather than per thread, and grow but never shrink, so large
// batches do not fault in and clear fresh pages on every pass.
// Thread-safety: ScratchPool's Take() and Give() may be called from any thread; a taken object is its taker's
// alone until given back. Lifetime: the pool owns what it holds; taken objects are returned by their takers.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace deskpipe::embed {

// The first `size` elements of `buffer`, grown if needed (new elements are value-initialized once).
template <typename T>
T* Grow(std::vector<T>& buffer, size_t size) {
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

template <typename T>
class ScratchPool {
 public:
  // One the pool held, else a new one.
  std::unique_ptr<T> Take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return std::make_unique<T>();
    std::unique_ptr<T> taken = std::move(free_.back());
    free_.pop_back();
    return taken;
  }
  void Give(std::unique_ptr<T> taken) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(taken));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<T>> free_;
};

}  // namespace deskpipe::embed

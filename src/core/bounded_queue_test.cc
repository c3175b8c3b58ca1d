#include "core/bounded_queue.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace deskpipe {
namespace {

TEST(BoundedQueueTest, KeepsOrderAndDrainsAfterClose) {
  BoundedQueue<int> queue(3);
  EXPECT_TRUE(queue.Push(1));
  EXPECT_TRUE(queue.Push(2));
  queue.Close();
  EXPECT_FALSE(queue.Push(3)) << "a closed queue takes nothing more";
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_EQ(queue.Pop(), std::nullopt);
}

TEST(BoundedQueueTest, FullQueueBlocksTheProducerUntilAConsumerTakes) {
  BoundedQueue<int> queue(2);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(queue.Push(i));
      ++pushed;
    }
  });
  // The producer can never be more than the capacity ahead of what was consumed.
  for (int expected = 0; expected < 5; ++expected) {
    std::optional<int> item = queue.Pop();
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(*item, expected);
    EXPECT_LE(pushed.load(), expected + 1 + 2);
    EXPECT_LE(queue.size(), queue.capacity());
  }
  producer.join();
  EXPECT_EQ(pushed.load(), 5);
}

TEST(BoundedQueueTest, CloseWakesABlockedProducerAndConsumer) {
  BoundedQueue<int> full(1);
  ASSERT_TRUE(full.Push(0));
  std::thread producer([&] { EXPECT_FALSE(full.Push(1)); });
  BoundedQueue<int> empty(1);
  std::thread consumer([&] { EXPECT_EQ(empty.Pop(), std::nullopt); });
  full.Close();
  empty.Close();
  producer.join();
  consumer.join();
}

TEST(BoundedQueueTest, ManyProducersAndConsumersLoseNothing) {
  BoundedQueue<int> queue(4);
  std::atomic<long> sum{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 3; ++c) {
    consumers.emplace_back([&] {
      while (auto item = queue.Pop()) sum += *item;
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&] {
      for (int i = 1; i <= 1000; ++i) queue.Push(i);
    });
  }
  for (auto& t : producers) t.join();
  queue.Close();
  for (auto& t : consumers) t.join();
  EXPECT_EQ(sum.load(), 3L * 1000 * 1001 / 2);
}

}  // namespace
}  // namespace deskpipe

#include "hull/common/event_fd.h"

#include <gtest/gtest.h>

namespace hull {
namespace {

TEST(EventFd, ConsumeReturnsTheSumOfSignalsAndResets) {
  Result<EventFd> fd = EventFd::Create();
  ASSERT_TRUE(fd.ok()) << fd.error().ToString();
  ASSERT_TRUE(fd->Signal(2).ok());
  ASSERT_TRUE(fd->Signal(3).ok());
  Result<uint64_t> value = fd->Consume();
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 5u);
  value = fd->Consume();
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 0u) << "an empty eventfd reads as zero, not as an error";
}

TEST(EventFd, SemaphoreModeConsumesOneAtATime) {
  Result<EventFd> fd = EventFd::Create(/*semaphore=*/true);
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(fd->Signal(2).ok());
  EXPECT_EQ(*fd->Consume(), 1u);
  EXPECT_EQ(*fd->Consume(), 1u);
  EXPECT_EQ(*fd->Consume(), 0u);
}

}  // namespace
}  // namespace hull

#include "console_tail.h"

#include <gtest/gtest.h>

#include <string>

namespace hull::vmm {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(ConsoleTail, KeepsTheLastLinesInOrder) {
  ConsoleTail tail;
  tail.Append(Bytes("one\ntwo\nthree\nfour\n"));
  EXPECT_EQ(tail.LastLines(2), "three\nfour");
  EXPECT_EQ(tail.LastLines(10), "one\ntwo\nthree\nfour");
}

TEST(ConsoleTail, WrapsAroundKeepingOnlyTheNewestBytes) {
  ConsoleTail tail(16);
  tail.Append(Bytes("0123456789\nabcdefghij\n"));
  EXPECT_EQ(tail.LastLines(1), "abcdefghij");
  EXPECT_EQ(tail.LastLines(5), "6789\nabcdefghij");
}

TEST(ConsoleTail, DropsControlCharactersTheGuestSent) {
  ConsoleTail tail;
  tail.Append(Bytes("ok\x1b[31mred\r\n"));
  EXPECT_EQ(tail.LastLines(1), "ok[31mred");
}

TEST(ConsoleTail, RecognisesAKernelPanicReport) {
  ConsoleTail tail;
  tail.Append(Bytes("[    1.0] Run /init as init process\n"));
  EXPECT_FALSE(tail.SawKernelPanic());
  tail.Append(Bytes("[    1.2] Kernel panic - not syncing: Attempted to kill init!\n"));
  EXPECT_TRUE(tail.SawKernelPanic());
  EXPECT_EQ(tail.PanicLine(), "Kernel panic - not syncing: Attempted to kill init!");
}

}  // namespace
}  // namespace hull::vmm

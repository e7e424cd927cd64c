#include "hull/vmm/core/metrics.h"

#include <gtest/gtest.h>

namespace hull::vmm {
namespace {

using nlohmann::json;

TEST(VmmMetrics, StartsAtZeroWithBootMarksUnseen) {
  VmmMetrics metrics;
  const json out = metrics.ToJson();
  EXPECT_EQ(out["exits"]["io_out"], 0);
  EXPECT_EQ(out["pio"]["unhandled_reads"], 0);
  EXPECT_EQ(out["serial"]["bytes_out"], 0);
  EXPECT_TRUE(out["boot"]["booted_ms"].is_null());
  EXPECT_TRUE(out["boot"]["ready_ms"].is_null());
}

TEST(VmmMetrics, ReportsEveryGroup) {
  VmmMetrics metrics;
  Count(metrics.exits.io_in);
  Count(metrics.exits.io_out, 2);
  Count(metrics.exits.mmio_read, 3);
  Count(metrics.exits.mmio_write, 4);
  Count(metrics.exits.hlt, 5);
  Count(metrics.exits.shutdown, 6);
  Count(metrics.exits.other, 7);
  Count(metrics.mmio.unhandled_writes, 8);
  Count(metrics.serial.in_dropped, 9);
  Count(metrics.i8042.reset_requests);
  metrics.boot.booted_us = 123'400;
  const json out = metrics.ToJson();
  EXPECT_EQ(out["exits"], (json{{"io_in", 1},
                                {"io_out", 2},
                                {"mmio_read", 3},
                                {"mmio_write", 4},
                                {"hlt", 5},
                                {"shutdown", 6},
                                {"other", 7}}));
  EXPECT_EQ(out["mmio"]["unhandled_writes"], 8);
  EXPECT_EQ(out["serial"]["in_dropped"], 9);
  EXPECT_EQ(out["i8042"]["reset_requests"], 1);
  EXPECT_DOUBLE_EQ(out["boot"]["booted_ms"].get<double>(), 123.4);
}

TEST(VmmMetrics, IncludesGroupsDevicesAdd) {
  VmmMetrics metrics;
  int reads = 0;
  metrics.AddGroup("virtio-blk0", [&] { return json{{"reads", ++reads}}; });
  EXPECT_EQ(metrics.ToJson()["virtio-blk0"]["reads"], 1);
  metrics.AddGroup("virtio-blk0", [] { return json{{"replaced", true}}; });
  EXPECT_EQ(metrics.ToJson()["virtio-blk0"], (json{{"replaced", true}}));
}

}  // namespace
}  // namespace hull::vmm

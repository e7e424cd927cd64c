#pragma once

// A fake cgroup v2 mount made of regular files in a temporary directory, for
// testing Cgroup without a cgroup2 mount. MakeCgroup plays the kernel's part
// of creating a cgroup's interface files; writes land in the files as they
// are, so a test reads back what was written.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hull::cgroup::testing {

class FakeCgroupTree {
 public:
  // `controllers`: what the root's cgroup.controllers offers.
  explicit FakeCgroupTree(const std::string& controllers = "cpuset cpu io memory hugetlb pids") {
    std::string pattern = (std::filesystem::temp_directory_path() / "hull-cgroup-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    root_ = pattern;
    Write("cgroup.controllers", controllers + "\n");
    Write("cgroup.subtree_control", "");
    Write("cgroup.procs", "");
  }
  ~FakeCgroupTree() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  FakeCgroupTree(const FakeCgroupTree&) = delete;
  FakeCgroupTree& operator=(const FakeCgroupTree&) = delete;

  const std::string& root() const { return root_; }
  std::string Path(const std::string& relative) const { return root_ + "/" + relative; }

  // The interface files of a non-root cgroup whose parent enabled
  // `controllers` (creating the directory if need be).
  void MakeCgroup(const std::string& relative, const std::string& controllers) {
    std::filesystem::create_directories(Path(relative));
    const std::string dir = relative + "/";
    Write(dir + "cgroup.controllers", controllers + "\n");
    Write(dir + "cgroup.subtree_control", "");
    Write(dir + "cgroup.procs", "");
    Write(dir + "cgroup.events", "populated 0\nfrozen 0\n");
    Write(dir + "cgroup.freeze", "0\n");
    Write(dir + "cgroup.kill", "");
    Write(dir + "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    const auto has = [&](const char* name) {
      return (" " + controllers + " ").find(std::string(" ") + name + " ") != std::string::npos;
    };
    if (has("cpu")) {
      Write(dir + "cpu.max", "max 100000\n");
      Write(dir + "cpu.weight", "100\n");
      Write(dir + "cpu.max.burst", "0\n");
    }
    if (has("memory")) {
      Write(dir + "memory.current", "0\n");
      Write(dir + "memory.max", "max\n");
      Write(dir + "memory.low", "0\n");
      Write(dir + "memory.swap.max", "max\n");
      Write(dir + "memory.swap.current", "0\n");
      Write(dir + "memory.stat", "anon 0\nfile 0\n");
      Write(dir + "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    }
    if (has("pids")) {
      Write(dir + "pids.current", "0\n");
      Write(dir + "pids.max", "max\n");
    }
  }

  void Write(const std::string& relative, const std::string& content) const {
    std::ofstream out(Path(relative), std::ios::trunc);
    out << content;
    EXPECT_TRUE(out.good()) << Path(relative);
  }

  // Overwrites the start of an existing file without truncating it first,
  // so that a reader never sees it empty (inotify tests).
  void Overwrite(const std::string& relative, const std::string& content) const {
    const int fd = ::open(Path(relative).c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << Path(relative);
    EXPECT_EQ(::pwrite(fd, content.data(), content.size(), 0),
              static_cast<ssize_t>(content.size()));
    ::close(fd);
  }

  std::string Read(const std::string& relative) const {
    std::ifstream in(Path(relative));
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  bool Exists(const std::string& relative) const { return std::filesystem::exists(Path(relative)); }

 private:
  std::string root_;
};

}  // namespace hull::cgroup::testing

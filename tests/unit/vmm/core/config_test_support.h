#pragma once

// argv for ParseFlags from a list of strings.

#include <string>
#include <vector>

namespace hull::vmm::testing {

class Argv {
 public:
  Argv(std::initializer_list<std::string> args) : storage_{"hull-vmm"} {
    storage_.insert(storage_.end(), args);
    for (std::string& arg : storage_) pointers_.push_back(arg.data());
    pointers_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(storage_.size()); }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> pointers_;
};

}  // namespace hull::vmm::testing

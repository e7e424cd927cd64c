#include "hull/common/files.h"

#include <cerrno>
#include <cstdio>
#include <fstream>

namespace hull {

Result<void> WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".hull-new";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) return Error(EIO, "writing " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Error::FromErrno(errno, "renaming " + temporary + " to " + path);
  }
  return Ok();
}

}  // namespace hull

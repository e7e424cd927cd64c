#include "hull/ttrpc/services.h"

#include <cerrno>
#include <exception>

namespace hull::ttrpc {

Result<void> Services::Register(std::string_view service, std::string_view method,
                                Handler handler) {
  const std::string name = std::string(service) + "/" + std::string(method);
  if (service.empty() || method.empty() || !handler) {
    return Error(EINVAL, "registering ttrpc handler \"" + name + "\": empty name or handler");
  }
  auto& methods = services_[std::string(service)];
  if (!methods.emplace(std::string(method), std::move(handler)).second) {
    return Error(EEXIST, "registering ttrpc handler \"" + name + "\": already registered");
  }
  return Ok();
}

const Handler* Services::Find(std::string_view service, std::string_view method) const {
  const auto s = services_.find(service);
  if (s == services_.end()) return nullptr;
  const auto m = s->second.find(method);
  return m == s->second.end() ? nullptr : &m->second;
}

Reply Services::Call(const CallContext& call, std::string_view payload) const {
  const auto s = services_.find(call.service);
  if (s == services_.end()) {
    return Status{StatusCode::kUnimplemented, "service " + std::string(call.service)};
  }
  const auto m = s->second.find(call.method);
  if (m == s->second.end()) {
    return Status{StatusCode::kUnimplemented, "method " + std::string(call.method)};
  }
  try {
    return m->second(call, payload);
  } catch (const std::exception& e) {
    return Status{StatusCode::kInternal, std::string("handler threw: ") + e.what()};
  } catch (...) {
    return Status{StatusCode::kInternal, "handler threw"};
  }
}

}  // namespace hull::ttrpc

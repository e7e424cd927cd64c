// Fuzzes hull-agent's request validation: the first byte picks a request
// type, the rest is that protobuf message's wire encoding (what a hostile or
// buggy host sends). Every message that parses goes through its validator;
// a CreateContainer or ExecProcess request that validates goes on to the OCI
// parser and validator as the agent would. The init request (the agent's
// message to container-init) is fuzzed too.
//
// Checked beyond the sanitizers: an accepted container id never holds '/',
// is never "." or "..", and is at most 128 characters: it becomes a cgroup
// directory name.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent.pb.h"
#include "hull/common/check.h"
#include "hull/oci/spec_parse.h"
#include "init_request.h"
#include "request_validation.h"

namespace {

namespace v1 = ::hull::agent::v1;

void CheckId(const std::string& id) {
  HULL_CHECK(id.find('/') == std::string::npos);
  HULL_CHECK(id != "." && id != "..");
  HULL_CHECK(id.size() <= 128);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 8) {
    case 0: {
      v1::CreateSandboxRequest request;
      if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        (void)hull::agent::ValidateCreateSandbox(request);
      }
      break;
    }
    case 1: {
      v1::CreateContainerRequest request;
      if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
          hull::agent::ValidateCreateContainer(request).ok()) {
        CheckId(request.container_id());
        auto spec = hull::oci::ParseSpec(request.spec_json());
        if (spec.ok()) (void)hull::oci::ValidateSpec(*spec);
      }
      break;
    }
    case 2: {
      v1::ExecProcessRequest request;
      if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
          hull::agent::ValidateExecProcess(request).ok()) {
        CheckId(request.container_id());
        CheckId(request.exec_id());
        auto process = hull::oci::ParseProcess(request.process_json());
        if (process.ok()) (void)hull::oci::ValidateProcess(*process);
      }
      break;
    }
    case 3: {
      v1::SignalProcessRequest request;
      if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
          hull::agent::ValidateSignal(request).ok()) {
        HULL_CHECK(request.signal() >= 1 && request.signal() <= 64);
      }
      break;
    }
    case 4: {
      v1::ResizeTtyRequest request;
      if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        (void)hull::agent::ValidateResize(request);
      }
      break;
    }
    case 5: {
      v1::UpdateContainerRequest request;
      if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
          hull::agent::ValidateUpdate(request).ok()) {
        auto resources = hull::oci::ParseResources(request.resources_json());
        if (resources.ok()) (void)hull::oci::ValidateResources(*resources);
      }
      break;
    }
    case 6: {
      v1::ProcessRequest request;
      if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
          hull::agent::ValidateProcessRequest(request).ok()) {
        CheckId(request.container_id());
      }
      break;
    }
    default: {
      auto request = hull::agent::ParseInitRequest(bytes);
      if (request.ok()) {
        // What the agent serializes parses back to the same request.
        auto again = hull::agent::ParseInitRequest(hull::agent::SerializeInitRequest(*request));
        HULL_CHECK(again.ok());
        HULL_CHECK(again->container_id == request->container_id);
        HULL_CHECK(again->join.size() == request->join.size());
      }
      break;
    }
  }
  return 0;
}

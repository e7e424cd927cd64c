#include "hull/ttrpc/services.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <stdexcept>

namespace hull::ttrpc {
namespace {

Reply Echo(const CallContext&, std::string_view payload) { return std::string(payload); }

CallContext To(std::string_view service, std::string_view method) {
  CallContext call;
  call.service = service;
  call.method = method;
  return call;
}

TEST(Services, RefusesASecondHandlerForTheSameMethod) {
  Services services;
  ASSERT_TRUE(services.Register("s", "M", Echo).ok());
  EXPECT_TRUE(services.Register("s", "N", Echo).ok());
  EXPECT_TRUE(services.Register("t", "M", Echo).ok());
  auto again = services.Register("s", "M", Echo);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), EEXIST);
  EXPECT_NE(again.error().message().find("s/M"), std::string::npos);
}

TEST(Services, RefusesEmptyNamesAndHandlers) {
  Services services;
  EXPECT_EQ(services.Register("", "M", Echo).error().code(), EINVAL);
  EXPECT_EQ(services.Register("s", "", Echo).error().code(), EINVAL);
  EXPECT_EQ(services.Register("s", "M", Handler()).error().code(), EINVAL);
}

TEST(Services, CallsTheHandlerRegisteredForServiceAndMethod) {
  Services services;
  ASSERT_TRUE(services.Register("s", "Echo", Echo).ok());
  ASSERT_TRUE(services
                  .Register("s", "Fail",
                            [](const CallContext&, std::string_view) -> Reply {
                              return Error(ENOENT, "task t1");
                            })
                  .ok());
  EXPECT_NE(services.Find("s", "Echo"), nullptr);
  EXPECT_EQ(services.Find("s", "Nope"), nullptr);

  const Reply echo = services.Call(To("s", "Echo"), "ping");
  EXPECT_TRUE(echo.ok());
  EXPECT_EQ(echo.payload(), "ping");
  const Reply fail = services.Call(To("s", "Fail"), "");
  EXPECT_EQ(fail.status().code, StatusCode::kNotFound);
  EXPECT_NE(fail.status().message.find("task t1"), std::string::npos);
}

TEST(Services, AnswersUnimplementedForAnUnknownServiceOrMethodInTtrpcsWords) {
  Services services;
  ASSERT_TRUE(services.Register("s", "Echo", Echo).ok());
  const Reply no_service = services.Call(To("t", "Echo"), "");
  EXPECT_EQ(no_service.status().code, StatusCode::kUnimplemented);
  EXPECT_EQ(no_service.status().message, "service t");
  const Reply no_method = services.Call(To("s", "Nope"), "");
  EXPECT_EQ(no_method.status().code, StatusCode::kUnimplemented);
  EXPECT_EQ(no_method.status().message, "method Nope");
}

TEST(Services, TurnsAHandlersExceptionIntoInternal) {
  Services services;
  ASSERT_TRUE(services
                  .Register("s", "Throw",
                            [](const CallContext&, std::string_view) -> Reply {
                              throw std::runtime_error("boom");
                            })
                  .ok());
  const Reply reply = services.Call(To("s", "Throw"), "");
  EXPECT_EQ(reply.status().code, StatusCode::kInternal);
  EXPECT_NE(reply.status().message.find("boom"), std::string::npos);
}

TEST(Reply, IsOkWithAPayloadOrCarriesAStatus) {
  const Reply ok(std::string("data"));
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.payload(), "data");
  const Reply status(Status{StatusCode::kAborted, "why"});
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.status().message, "why");
  const Reply error(Error(EEXIST, "id taken"));
  EXPECT_EQ(error.status().code, StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace hull::ttrpc

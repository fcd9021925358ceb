#pragma once

// The synchronous HTTP and WebSocket clients live in testkit/ (nod-bench
// uses them too).

#include "testkit/http_client.hpp"

namespace nod::test {

using testkit::header_list;
using testkit::http_call;
using testkit::http_reply;
using testkit::raw_exchange;
using testkit::ws_client;

} // namespace nod::test

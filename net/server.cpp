#include "net/server.hpp"

#include "net/server_core.hpp"

#include <utility>

namespace nod::net {

struct server::impl : detail::server_core {
  using server_core::server_core;
};

server::server(const config& cfg, metrics::registry& reg,
               std::function<bool()> ready)
  : impl_(std::make_unique<impl>(cfg, reg, std::move(ready))) {
  // nop
}

server::~server() {
  impl_->stop();
}

net::router& server::routes() {
  return impl_->router_;
}

void server::set_forward(
  std::function<std::optional<forward_target>()> target) {
  impl_->forward_ = std::move(target);
}

void server::add_websocket(std::string pattern, ws_handler h) {
  impl_->add_websocket(std::move(pattern), std::move(h));
}

std::optional<std::string> server::listen() {
  return impl_->listen();
}

std::optional<std::string> server::start() {
  return impl_->start();
}

std::optional<std::string> server::reload_tls() {
  return impl_->load_tls();
}

void server::set_access_logger(std::shared_ptr<spdlog::logger> logger) {
  if (logger)
    impl_->access_logger_ = std::move(logger);
}

void server::set_access_log(bool on) {
  impl_->access_log_ = on;
}

bool server::tls() const {
  return impl_->tls_context() != nullptr;
}

uint16_t server::port() const {
  return impl_->port_;
}

std::string server::address() const {
  return impl_->address_;
}

void server::stop() {
  impl_->stop();
}

} // namespace nod::net

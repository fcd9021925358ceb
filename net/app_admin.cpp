// Administration (issue #20, docs/operations.md): online backups. Admins
// only; everyone else gets 403.

#include "actors/maintenance.hpp"
#include "net/app_handlers.hpp"
#include "protocol/time.hpp"

namespace nod::net::app {

namespace {

void write_backup(json::writer& w, const backup_entry& b) {
  w.start_object();
  w.field("id", b.id);
  w.field("path", b.path);
  w.field("bytes", static_cast<int64_t>(b.bytes));
  w.field("created_at", iso8601(b.created_ms));
  w.end_object();
}

} // namespace

// POST /api/admin/backups: a consistent checkpoint of the store, taken
// while the server goes on serving.
void create_backup(const ctx_ptr& ctx, const http_request& req,
                   responder respond) {
  with_admin(ctx, req, "take backups", std::move(respond),
             [ctx](const user_record&, const responder& respond) {
               ask<backup_entry>(
                 ctx->maintenance,
                 [respond](caf::expected<backup_entry> b) {
                   if (!b) {
                     respond(from_error(b.error()));
                     return;
                   }
                   json::writer w;
                   write_backup(w, *b);
                   respond(json_response(201, w.str()));
                 },
                 backup_atom::value);
             });
}

// GET /api/admin/backups: `{"backups": [...]}`, newest first.
void list_backups(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  with_admin(ctx, req, "list backups", std::move(respond),
             [ctx](const user_record&, const responder& respond) {
               ask<std::vector<backup_entry>>(
                 ctx->maintenance,
                 [respond](caf::expected<std::vector<backup_entry>> list) {
                   if (!list) {
                     respond(from_error(list.error()));
                     return;
                   }
                   json::writer w;
                   w.start_object();
                   w.key("backups");
                   w.start_array();
                   for (auto& b : *list)
                     write_backup(w, b);
                   w.end_array();
                   w.end_object();
                   respond(json_response(200, w.str()));
                 },
                 backups_atom::value);
             });
}

} // namespace nod::net::app

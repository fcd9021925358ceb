#include "storage/backups.hpp"

#include "protocol/json.hpp"
#include "protocol/time.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace nod::storage {

namespace fs = std::filesystem;

namespace {

constexpr const char* manifest_name = "nod-backup.json";

} // namespace

std::string backup_name(int64_t ms) {
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

namespace {

bool sync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY);
  if (fd < 0)
    return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Bytes of the regular files directly in `dir`; RocksDB's info logs
// (LOG, LOG.old.*) left out with `skip_logs`: they are not the store.
uint64_t files_bytes(const fs::path& dir, bool skip_logs) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end;
       it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec)
        || (skip_logs && it->path().filename().string().rfind("LOG", 0) == 0))
      continue;
    total += it->file_size(fec);
  }
  return total;
}

// Reads the manifest of the backup in `dir`; false when there is none or
// it does not parse (an incomplete backup, or not a backup at all).
bool read_manifest(const fs::path& dir, backup_info& out) {
  std::ifstream in{dir / manifest_name};
  if (!in)
    return false;
  std::stringstream text;
  text << in.rdbuf();
  json::document doc;
  json::field_error err;
  std::optional<int64_t> created;
  std::optional<int64_t> format;
  auto id = json::parse_object(text.str(), doc, err)
              ? json::string_member(doc, "id")
              : std::nullopt;
  if (!id || !json::get_int(doc, "created_ms", 0, INT64_MAX, created, err)
      || !json::get_int(doc, "format", 1, INT32_MAX, format, err) || !created
      || !format)
    return false;
  out.id = *id;
  out.created_ms = *created;
  out.format = static_cast<int>(*format);
  out.path = fs::absolute(dir).lexically_normal().string();
  return true;
}

} // namespace

status write_manifest(const std::string& dir, int64_t created_ms, int format) {
  fs::path target{dir};
  json::writer w;
  w.start_object();
  w.field("id", target.filename().string());
  w.field("created_at", iso8601(created_ms));
  w.field("created_ms", created_ms);
  w.field("format", format);
  w.end_object();
  {
    std::ofstream m{target / manifest_name, std::ios::trunc};
    m << w.str() << '\n';
    m.flush();
    if (!m)
      return status::error("cannot write the manifest of backup "
                           + target.string());
  }
  if (!sync_path(target / manifest_name, false) || !sync_path(target, true))
    return status::error("cannot sync backup " + target.string() + ": "
                         + std::strerror(errno));
  return {};
}

status take_backup(store& db, const std::string& backup_dir, backup_info& out,
                   const std::string& prefix, int format) {
  std::error_code ec;
  fs::create_directories(backup_dir, ec);
  if (ec)
    return status::error("cannot create backup directory " + backup_dir + ": "
                         + ec.message());
  auto created = now_ms();
  auto id = prefix + backup_name(created);
  fs::path target = fs::path{backup_dir} / id;
  for (int n = 2; fs::exists(target, ec); ++n)
    target = fs::path{backup_dir} / (id + "-" + std::to_string(n));
  id = target.filename().string();
  auto st = db.checkpoint(target.string());
  if (!st.ok())
    return status::error("checkpoint into " + target.string()
                         + " failed: " + st.message());
  if (format == 0)
    format = current_data_format();
  st = write_manifest(target.string(), created, format);
  if (!st.ok())
    return st;
  out.id = id;
  out.path = fs::absolute(target).lexically_normal().string();
  out.bytes = files_bytes(target, false);
  out.created_ms = created;
  out.format = format;
  return {};
}

status list_backups(const std::string& backup_dir,
                    std::vector<backup_info>& out) {
  out.clear();
  std::error_code ec;
  if (!fs::exists(backup_dir, ec))
    return {};
  for (fs::directory_iterator it{backup_dir, ec}, end; !ec && it != end;
       it.increment(ec)) {
    std::error_code dec;
    if (!it->is_directory(dec))
      continue;
    backup_info b;
    if (!read_manifest(it->path(), b))
      continue;
    b.bytes = files_bytes(it->path(), false);
    out.push_back(std::move(b));
  }
  if (ec)
    return status::error("cannot list backup directory " + backup_dir + ": "
                         + ec.message());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_ms != b.created_ms ? a.created_ms > b.created_ms
                                        : a.id > b.id;
  });
  return {};
}

bool restore_backup(const std::string& from, const std::string& to,
                    std::string& error, bool& usage_error) {
  usage_error = true;
  backup_info info;
  if (!read_manifest(from, info)) {
    error = from + " is not a nod-server backup (no readable "
            + std::string{manifest_name} + ")";
    return false;
  }
  if (info.format > current_data_format()) {
    error = "backup " + from + " has data format " + std::to_string(info.format)
            + ", newer than this nod-server reads ("
            + std::to_string(current_data_format()) + ")";
    return false;
  }
  std::error_code ec;
  if (fs::exists(to, ec)) {
    if (!fs::is_directory(to, ec)) {
      error = to + " exists and is not a directory";
      return false;
    }
    if (!fs::is_empty(to, ec)) {
      error = "data directory " + to
              + " is not empty; restore into a new or empty directory (the "
                "data there is left as it is)";
      return false;
    }
  }
  usage_error = false;
  fs::create_directories(to, ec);
  if (ec) {
    error = "cannot create " + to + ": " + ec.message();
    return false;
  }
  for (fs::directory_iterator it{from, ec}, end; !ec && it != end;
       it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec) || it->path().filename() == manifest_name)
      continue;
    auto target = fs::path{to} / it->path().filename();
    fs::copy_file(it->path(), target, fec);
    if (fec || !sync_path(target, false)) {
      error = "cannot copy " + it->path().string() + " to " + target.string()
              + ": " + (fec ? fec.message() : std::strerror(errno));
      return false;
    }
  }
  if (ec) {
    error = "cannot read backup " + from + ": " + ec.message();
    return false;
  }
  if (!sync_path(to, true)) {
    error = "cannot sync " + to + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

uint64_t store_bytes(const std::string& dir) {
  return files_bytes(dir, true);
}

} // namespace nod::storage

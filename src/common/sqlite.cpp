#include "common/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

#include "common/error.hpp"

namespace berth {
namespace {

[[noreturn]] void sqlite_fail(sqlite3* db, std::string_view what,
                              const std::string& path) {
  int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  std::string msg = std::string(what) + " (" + path + "): " +
                    (db ? sqlite3_errmsg(db) : "out of memory");
  ErrorKind kind = ErrorKind::Internal;
  if ((code & 0xff) == SQLITE_CONSTRAINT) kind = ErrorKind::AlreadyExists;
  if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB)
    kind = ErrorKind::Corrupt;
  throw Error(msg, kind);
}

constexpr int kBusyTimeoutMs = 10000;

// SQLite's automatic checkpoint (PASSIVE, at 1000 frames) never shrinks
// the WAL of a database used by one short process after another: the
// first connection to open it rebuilds the WAL index by reading the whole
// WAL, and that recovery forgets what was checkpointed, so the WAL never
// restarts. It grew by every write, each later write checkpointed it all
// again (three fdatasyncs), and each command read all of it when it
// opened the database (650 frames, 2.6 MB: 1.3 ms of a 2 ms `berth vm
// ls`). Here a commit that leaves the WAL longer than kWalFrames
// checkpoints it and truncates it to nothing: the next opener has no WAL
// to read, and the fsyncs come once every few dozen writes. TRUNCATE waits
// for readers of older snapshots; without a busy handler it does not (it
// checkpoints what it can, as a PASSIVE one, and the next commit tries
// again): a reader must not stall every write.
constexpr int kWalFrames = 64;

int checkpoint_when_long(void*, sqlite3* db, const char* schema, int frames) {
  if (frames < kWalFrames) return SQLITE_OK;
  sqlite3_busy_timeout(db, 0);
  sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return SQLITE_OK;
}

}  // namespace

Database::Database(const std::string& path) : path_(path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("open database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // Every berth command is a short process, often the only one on the
  // database: by default its close would checkpoint the WAL, two
  // fdatasyncs (most of a `run --rm`'s wall time on ext4). The WAL is
  // checkpointed by checkpoint_when_long() instead, and is as durable in
  // between (synchronous=NORMAL: a crash loses no committed transaction's
  // consistency, only the last ones may roll back after power loss).
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  // After journal_mode: a "PRAGMA wal_autocheckpoint" would replace it.
  sqlite3_wal_hook(db_, checkpoint_when_long, nullptr);
}

Database::Database(Database&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
  }
  return *this;
}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    sqlite_fail(db_, "sql: " + msg, path_);
  }
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt,
                         nullptr) != SQLITE_OK)
    sqlite_fail(db_, "prepare", path_);
  return Statement(stmt, *this);
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
  }
}
void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

Statement::Statement(Statement&& o) noexcept
    : stmt_(std::exchange(o.stmt_, nullptr)), db_(o.db_) {}
Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK)
    sqlite_fail(db_->handle(), "bind", db_->path());
  return *this;
}
Statement& Statement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK)
    sqlite_fail(db_->handle(), "bind", db_->path());
  return *this;
}
Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK)
    sqlite_fail(db_->handle(), "bind", db_->path());
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite_fail(db_->handle(), "step", db_->path());
}

void Statement::run() {
  while (step()) {
  }
}
void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
           : std::string();
}
int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }
bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

}  // namespace berth

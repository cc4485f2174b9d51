// Container records in <root>/berth.db (table containers): one row per
// container, its whole record (container_spec.hpp) as JSON beside the
// columns that are looked up (id, name) and the listing columns: what `ps`
// shows and sync folds, copied from the record by every write, so a list
// parses no record (parsing 100 records' JSON was over a third of `ps`).
// Every change is one transaction.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/sqlite.hpp"
#include "engine/container_spec.hpp"

namespace berth::engine {

class ContainerStore {
 public:
  explicit ContainerStore(Database& db);

  // Inserts a new record; AlreadyExists (Docker's conflict text) if the
  // name is taken.
  void insert(const Container& c);
  void update(const Container& c);
  void remove(const std::string& id);
  // By full id, name, or a unique id prefix. NotFound / InvalidArgument
  // (ambiguous prefix) as Docker words them.
  Container get(const std::string& ref);
  std::optional<Container> find(const std::string& ref);
  std::vector<Container> list();
  // Every container from its listing columns (Container::listing_only),
  // newest first.
  std::vector<Container> listing();
  // The id of the container named `name`, if any.
  std::optional<std::string> id_of_name(const std::string& name);

 private:
  bool has_listing_columns();
  void add_listing_columns();
  // The records as parsed, with the text each was parsed from, by text:
  // a record whose row is unchanged is not parsed again. Parsing every
  // record's JSON was most of a list (`berth serve` keeps its engines, and
  // so this, across requests; a CLI run lists once and gains nothing).
  // Keyed by the text itself, so any change by any process is seen.
  const Container& parsed(std::string text);
  std::unordered_map<std::string, Container> parsed_;
  Database& db_;
};

}  // namespace berth::engine

// Container records in <root>/berth.db (table containers): one row per
// container, its whole record (container_spec.hpp) as JSON beside the
// columns that are looked up (id, name). Every change is one transaction.
#pragma once

#include <optional>
#include <string>
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
  // The id of the container named `name`, if any.
  std::optional<std::string> id_of_name(const std::string& name);

 private:
  Database& db_;
};

}  // namespace berth::engine

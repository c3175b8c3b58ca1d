// OpenStore: picks the backend from the store URL's scheme; StoreOptionsFor: the mode keys of the config.
#include <string>
#include <string_view>

#include "core/config.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace deskpipe {

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  constexpr std::string_view kSqlite = "sqlite://";
  const std::string& url = options.url;
  if (url.rfind(kSqlite, 0) == 0) {
    // sqlite:///abs/path.db → "/abs/path.db"; sqlite://rel/path.db → "rel/path.db".
    std::string path = url.substr(kSqlite.size());
    if (path.empty() || path == "/") {
      return Error(
          InvalidArgument("store URL '" + url + "' names no database file (sqlite:///path/to/deskpipe.db)"));
    }
    ASSIGN_OR_RETURN(auto store, SqliteStore::Open(path, options));
    return std::unique_ptr<Store>(std::move(store));
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    ASSIGN_OR_RETURN(auto store, PostgresStore::Open(url, options));
    return std::unique_ptr<Store>(std::move(store));
  }
  // Never echo the whole URL: a postgresql:// URL may carry a password.
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return Error(InvalidArgument(
        "store URL must look like sqlite:///path/to/deskpipe.db or postgresql://user@host/database"));
  }
  return Error(InvalidArgument("unsupported store URL scheme '" + url.substr(0, scheme_end) +
                               "' (use sqlite:// or postgresql://)"));
}

StoreOptions StoreOptionsFor(const Config& config, int dimension) {
  StoreOptions options;
  options.url = config.EffectiveStoreUrl();
  options.data_dir = config.data_dir;
  options.dimension = dimension;
  options.hybrid = !config.full_streaming_mode;
  options.minimal_sql = config.vector_only_minimal_sql;
  options.content_field = config.vector_db_content_field;
  options.store_original_text = config.vector_db_store_original_text;
  options.include_all_metadata = config.vector_db_include_all_metadata;
  return options;
}

}  // namespace deskpipe

// OpenStore: picks the backend from the store URL's scheme.
#include <string>
#include <string_view>

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
  // Never echo the whole URL: a postgresql:// URL may carry a password.
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return Error(InvalidArgument("store URL must look like sqlite:///path/to/deskpipe.db"));
  }
  return Error(InvalidArgument("unsupported store URL scheme '" + url.substr(0, scheme_end) +
                               "' (postgresql comes later)"));
}

}  // namespace deskpipe

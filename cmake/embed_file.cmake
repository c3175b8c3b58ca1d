# Writes OUTPUT: a C++ file defining `std::string_view deskpipe::service::<FUNCTION>()` that returns the bytes of
# INPUT. Run by a custom command (cmake -P), so editing INPUT rebuilds only this file.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_file.cmake: do not edit.\n"
  "#include <string_view>\n"
  "namespace deskpipe::service {\n"
  "namespace {\n"
  "constexpr unsigned char kBytes[] = {${bytes} 0};\n"
  "}  // namespace\n"
  "std::string_view ${FUNCTION}() { return {reinterpret_cast<const char*>(kBytes), sizeof(kBytes) - 1}; }\n"
  "}  // namespace deskpipe::service\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")

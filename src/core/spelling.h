// "Did you mean …?" for names a user typed: the closest of the valid names, if one is close enough to be a
// plausible typo. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace deskpipe {

// The candidate nearest to `typed` by edit distance (letters compared case-insensitively), when it is within
// a third of the longer name's length (at least 1); nullopt otherwise or when `typed` is already one of them.
std::optional<std::string> ClosestName(std::string_view typed, std::span<const std::string> candidates);

// "a, b or c": valid names for an error message.
std::string ListOfNames(std::span<const std::string> names);

}  // namespace deskpipe

// Ties a component's typed settings struct to the ConfigSection it declares: each field is declared once, against
// the struct member that holds it, so its type and default come from the struct and the component reads its
// settings back as that struct (FromConfig) instead of by key.
//
//   struct FreshdeskSettings { std::string api_key; int reconcile_interval = 86400; … };
//   const SettingsBinding<FreshdeskSettings>& Binding() {
//     static const SettingsBinding<FreshdeskSettings> binding =
//         SettingsBinding<FreshdeskSettings>("freshdesk")
//             .Field(&FreshdeskSettings::api_key, {.key = "freshdesk_api_key", .env = "FRESHDESK_API_KEY", …});
//     return binding;
//   }
//
// Thread-safety: a built binding is read-only and may be used from any thread. Lifetime: the sections it hands
// out copy what they need.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/config.h"

namespace deskpipe {

template <class Settings>
class SettingsBinding {
 public:
  explicit SettingsBinding(std::string section_name) : name_(std::move(section_name)) {}

  // Declares the setting held by `member`: `field` gives key, env, doc, secret and flag; its type and default
  // (the member's value in a default-constructed Settings) are filled in here.
  template <class T>
  SettingsBinding& Field(T Settings::*member, ConfigField field) {
    static_assert(std::is_constructible_v<ConfigValue, T> &&
                      (std::is_same_v<T, std::string> || std::is_same_v<T, bool> || std::is_same_v<T, int> ||
                       std::is_same_v<T, double> || std::is_same_v<T, std::vector<std::string>>),
                  "a setting is a string, bool, int, double or list of strings");
    field.type = std::is_same_v<T, std::string>  ? ConfigType::kString
                 : std::is_same_v<T, bool>       ? ConfigType::kBool
                 : std::is_same_v<T, int>        ? ConfigType::kInt
                 : std::is_same_v<T, double>     ? ConfigType::kDouble
                                                 : ConfigType::kStringList;
    field.default_value = ConfigValue(Settings{}.*member);
    const std::string key = field.key;
    const bool secret = field.secret;
    fields_.push_back(std::move(field));
    read_.push_back([member, key](const Config& config, Settings& settings) {
      if (const T* value = config.components.Get<T>(key)) settings.*member = *value;
    });
    write_.push_back([member, key, secret](const Settings& settings, Config& config) {
      config.components.Set(key, ConfigValue(settings.*member), secret);
    });
    return *this;
  }

  // A check over the loaded settings (and the Config, for core modes): the key at fault and why, or nullopt.
  SettingsBinding& Check(std::function<std::optional<ConfigProblem>(const Settings&, const Config&)> check) {
    check_ = std::move(check);
    return *this;
  }

  // The section to hand to LoadConfig. The binding must outlive it (its check reads through the binding).
  ConfigSection Section() const {
    ConfigSection section{.name = name_, .fields = fields_, .check = {}};
    if (check_) {
      section.check = [this](const Config& config) { return check_(Read(config), config); };
    }
    return section;
  }

  // The settings `config` holds; a key it does not hold keeps the struct's default.
  Settings Read(const Config& config) const {
    Settings settings;
    for (const auto& read : read_) read(config, settings);
    return settings;
  }

  // Puts `settings` into `config` (for front ends and tests that set a component's settings in code).
  void Write(const Settings& settings, Config& config) const {
    for (const auto& write : write_) write(settings, config);
  }

 private:
  std::string name_;
  std::vector<ConfigField> fields_;
  std::vector<std::function<void(const Config&, Settings&)>> read_;
  std::vector<std::function<void(const Settings&, Config&)>> write_;
  std::function<std::optional<ConfigProblem>(const Settings&, const Config&)> check_;
};

}  // namespace deskpipe

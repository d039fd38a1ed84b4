#include "src/tools/cli/args.h"

#include <algorithm>

namespace zarrpp::tools {

std::optional<std::string> ParsedArgs::get(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ParsedArgs::all(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = options.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

ParseResult ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args,
                      ParsedArgs& out, std::string& error) {
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") return ParseResult::kHelp;
    const size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const auto spec_it = std::find_if(spec.options.begin(), spec.options.end(),
                                      [&](const OptionSpec& o) { return o.name == name; });
    if (spec_it == spec.options.end()) {
      error = "unknown option '" + name + "'";
      return ParseResult::kUsageError;
    }
    if (!spec_it->repeatable && out.has(name)) {
      error = "option '" + name + "' given twice";
      return ParseResult::kUsageError;
    }
    if (spec_it->value_name.empty()) {
      if (eq != std::string::npos) {
        error = "option '" + name + "' takes no value";
        return ParseResult::kUsageError;
      }
      out.options.emplace(name, "");
      continue;
    }
    if (eq != std::string::npos) {
      out.options.emplace(name, a.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      out.options.emplace(name, args[++i]);
    } else {
      error = "option '" + name + "' needs a value (" + spec_it->value_name + ")";
      return ParseResult::kUsageError;
    }
  }
  if (out.positional.size() < spec.min_positional) {
    error = "missing argument";
    return ParseResult::kUsageError;
  }
  if (out.positional.size() > spec.max_positional) {
    error = "unexpected argument '" + out.positional[spec.max_positional] + "'";
    return ParseResult::kUsageError;
  }
  return ParseResult::kOk;
}

std::string HelpText(const CommandSpec& spec) {
  std::string s = "zarrpp " + spec.name + " - " + spec.summary + "\n\n";
  s += "usage: zarrpp " + spec.name + (spec.synopsis.empty() ? "" : " " + spec.synopsis) + "\n\n";
  s += spec.description;
  if (!spec.description.empty() && spec.description.back() != '\n') s += "\n";
  s += "\noptions:\n";
  std::vector<std::pair<std::string, std::string>> rows;
  for (const OptionSpec& o : spec.options) {
    rows.emplace_back(o.name + (o.value_name.empty() ? "" : " " + o.value_name), o.help);
  }
  rows.emplace_back("-h, --help", "show this help and exit");
  size_t width = 0;
  for (const auto& [left, right] : rows) width = std::max(width, left.size());
  for (const auto& [left, right] : rows) {
    s += "  " + left + std::string(width - left.size() + 2, ' ');
    // Continuation lines of a long help text line up under its first line.
    for (char c : right) {
      s += c;
      if (c == '\n') s += std::string(width + 4, ' ');
    }
    s += "\n";
  }
  if (!spec.examples.empty()) {
    s += "\nexamples:\n";
    for (const std::string& e : spec.examples) s += "  " + e + "\n";
  }
  return s;
}

std::string UsageErrorText(const CommandSpec& spec, const std::string& error) {
  return "zarrpp " + spec.name + ": " + error + "\nusage: zarrpp " + spec.name +
         (spec.synopsis.empty() ? "" : " " + spec.synopsis) + "  (see 'zarrpp " + spec.name +
         " --help')\n";
}

}  // namespace zarrpp::tools

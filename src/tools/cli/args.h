// src/tools/cli/args.h - the tool's subcommand descriptions and their argument parsing.
//
// Every subcommand is described once (synopsis, description, options, example): the same text
// serves `zarrpp CMD --help`, `zarrpp help CMD` and the one-line hint after a usage error.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zarrpp::tools {

struct OptionSpec {
  std::string name;        // "--json"
  std::string value_name;  // "N" for an option taking a value; empty for a flag
  std::string help;
  bool repeatable = false;
};

struct CommandSpec {
  std::string name;
  std::string synopsis;  // after "zarrpp NAME ", e.g. "PATH [--json]"
  std::string summary;   // one line, for the command list
  std::string description;
  std::vector<OptionSpec> options;
  std::vector<std::string> examples;
  size_t min_positional = 0;
  size_t max_positional = 0;
};

struct ParsedArgs {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> options;  // flags map to ""

  bool has(const std::string& name) const { return options.contains(name); }
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
};

enum class ParseResult { kOk, kHelp, kUsageError };

// Parses `args` (after the subcommand name). "--opt value" and "--opt=value" both work; "--"
// ends the options. On kUsageError `error` says what was wrong.
ParseResult ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args,
                      ParsedArgs& out, std::string& error);

// The full help of one command (stdout of `zarrpp CMD --help`).
std::string HelpText(const CommandSpec& spec);
// The two lines printed on a usage error: the error and a usage hint.
std::string UsageErrorText(const CommandSpec& spec, const std::string& error);

}  // namespace zarrpp::tools

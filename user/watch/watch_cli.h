// The `watch` subcommand's options, for the CLI in user/cli/main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include "watch/watch.h"

namespace vmatrace {

CLI::App* add_watch_subcommand(CLI::App* app, WatchOptions* opts);

}  // namespace vmatrace

#pragma once
/// A release: what a generation runs, resolved when it is deployed. Plain values (the
/// supervisor keeps them); resolve_release.h finds them on disk.
///
/// Deploys lay releases out as `releases/N` directories and a `current` symlink switched
/// atomically, and start the program through that symlink (`--dir=/srv/app/current`, or
/// `/srv/app/current/bin/app`). A deploy (the first start, SIGHUP, --restart, an automatic
/// restart) resolves the symlinks afresh; a respawn after the serving generation crashed runs
/// the release that generation was deployed from (`--respawn-release=serving`, the default), so
/// a broken release left behind by a failed reload never comes back by itself.

#include <string>

namespace starter {

struct Release {
  std::string program;  ///< the program's real path (symlinks resolved); empty: not found
  std::string dir;      ///< --dir's real path; empty without --dir (or when it did not resolve)
  /// What status and logs call it: the real path of --dir when --dir is given and was reached
  /// through a symlink or the program was not; else the program's real path. Empty: unknown.
  std::string name;
  bool operator==(const Release&) const = default;
};

}  // namespace starter

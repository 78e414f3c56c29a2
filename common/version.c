/* version.c: raftd's version string (package version and git commit). */
#include <autoconfig.h>

/* RAFTD_COMMIT: written by make from git, or from a release tarball's
 * COMMIT file (Makefile.am, "version"). */
#include <raftd-commit.h>

#include "version.h"

const char *raftd_version_commit(void) { return RAFTD_COMMIT; }

const char *raftd_version_string(void)
{
	return PACKAGE_VERSION " (commit " RAFTD_COMMIT ")";
}

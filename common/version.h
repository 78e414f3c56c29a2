/* version.h: raftd's version and the git commit it was built from, for
 * --version and status(). */
#ifndef RAFTD_VERSION_H
#define RAFTD_VERSION_H

/* "0.1.0 (commit 8cf7b9f)": the package version and the commit the build
 * came from ("unknown" when neither a git checkout nor a release tarball's
 * COMMIT file said; "-dirty" when the checkout had changes).  A static
 * string. */
const char *raftd_version_string(void);
/* The commit alone: "8cf7b9f", "8cf7b9f-dirty" or "unknown".  A static
 * string. */
const char *raftd_version_commit(void);

#endif /* RAFTD_VERSION_H */

/* backup.h: the file side of `raftctl backup` and `raftctl restore`
 * (docs/RAFTCTL.md): writing a snapshot file durably and checked, telling
 * whether a directory may become a new node's data dir, and installing a
 * snapshot there as raftd expects it (DATA_DIR/snapshot).
 *
 * Every file is written to a temporary name, fsync'ed, checked with
 * snapfile_verify() (every checksum), then renamed into place and the
 * directory fsync'ed: a crash leaves the old state or the new, whole
 * (never a partial snapshot under the final name).  Nothing here talks
 * to the cluster. */
#ifndef RAFTCTL_BACKUP_H
#define RAFTCTL_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "snapfile.h"

/* Return codes (0 on success; a message in the caller's `err`). */
enum {
	BACKUP_OK = 0,
	BACKUP_EIO = -1,      /* a file operation failed */
	BACKUP_ECORRUPT = -2, /* the bytes are not a valid snapshot */
	BACKUP_EREFUSE = -3,  /* the directory is not a new node's */
};

/* A backup being written: `tmp` (FILE.tmp) until backup_file_commit()
 * renames it to `path`.  Owns path, tmp and fd. */
struct backup_file {
	char *path;
	char *tmp;
	int fd;
};

/* Creates (or truncates) FILE.tmp for writing.  On failure nothing is
 * left behind and bf needs no abort (it is safe all the same). */
int backup_file_open(struct backup_file *bf, const char *path, char *err,
		     size_t errlen);

/* Writes n bytes at offset off of the temporary file. */
int backup_file_write(struct backup_file *bf, uint64_t off, const void *p,
		      size_t n, char *err, size_t errlen);

/* Empties the temporary file (a transfer that starts again). */
int backup_file_truncate(struct backup_file *bf, char *err, size_t errlen);

/* fsyncs the temporary file, checks it whole (snapfile_verify: header,
 * body and configuration, every checksum) into *meta, renames it to
 * FILE and fsyncs FILE's directory.  On failure the temporary file is
 * removed (BACKUP_ECORRUPT: the bytes failed the check). */
int backup_file_commit(struct backup_file *bf, struct snapfile_meta *meta,
		       char *err, size_t errlen);

/* Removes the temporary file if it is still there and frees bf's
 * members; safe after a commit, after a failed open, and twice. */
void backup_file_abort(struct backup_file *bf);

/* Whether `dir` may become a new node's data dir: it does not exist yet,
 * or it is a directory holding no raftlog, no snapshot, and no term in
 * meta1/meta2 (an empty or all-zero slot is a node that never voted).
 * BACKUP_EREFUSE with a message naming the file otherwise: a node's data
 * is never overwritten. */
int backup_check_dir(const char *dir, char *err, size_t errlen);

/* Installs the snapshot file `src` (already checked: `meta` is what
 * snapfile_verify_path() said of it) as DIR/snapshot: creates DIR and its
 * parents if missing, copies src to DIR/snapshot.tmp (which raftd removes
 * at start-up if a crash leaves it), fsyncs it, checks the copy against
 * `meta`, renames it to DIR/snapshot without replacing an existing one,
 * and fsyncs DIR.  Call backup_check_dir() first. */
int backup_restore_dir(const char *src, const struct snapfile_meta *meta,
		       const char *dir, char *err, size_t errlen);

#endif /* RAFTCTL_BACKUP_H */

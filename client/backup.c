/* backup.c: the file side of `raftctl backup` and `raftctl restore`. */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "util.h"

/* The names raftd uses in a data dir (daemon/snapshot.h, storage.c). */
#define DATA_SNAPSHOT "snapshot"
#define DATA_SNAPSHOT_TMP "snapshot.tmp"
#define DATA_RAFTLOG "raftlog"
/* A meta slot: "RAFTMETA" | u32 version | u32 size | u64 sequence
 * | u64 term | ... (docs/RAFTLOG-FORMAT.md). */
#define META_SIZE 48u
#define META_MAGIC "RAFTMETA"

#define COPY_BLOCK (1024u * 1024u)

/* The directory part of a path ("." when it has none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return util_xasprintf("%.*s", (int)(slash - path), path);
}

static int fsync_dir(const char *dir, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "fsync of the directory %s: %s", dir,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return BACKUP_EIO;
	}
	close(fd);
	return BACKUP_OK;
}

static int write_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* ---- backup FILE ------------------------------------------------------ */

int backup_file_open(struct backup_file *bf, const char *path, char *err,
		     size_t errlen)
{
	memset(bf, 0, sizeof(*bf));
	bf->fd = -1;
	bf->path = xstrdup(path);
	bf->tmp = util_xasprintf("%s.tmp", path);
	bf->fd = open(bf->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (bf->fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", bf->tmp,
			 strerror(errno));
		free(bf->tmp);
		bf->tmp = NULL; /* nothing of ours to remove */
		return BACKUP_EIO;
	}
	return BACKUP_OK;
}

int backup_file_write(struct backup_file *bf, uint64_t off, const void *p,
		      size_t n, char *err, size_t errlen)
{
	if (write_all(bf->fd, p, n, off) < 0) {
		snprintf(err, errlen, "write to %s: %s", bf->tmp,
			 strerror(errno));
		return BACKUP_EIO;
	}
	return BACKUP_OK;
}

int backup_file_truncate(struct backup_file *bf, char *err, size_t errlen)
{
	if (ftruncate(bf->fd, 0) < 0) {
		snprintf(err, errlen, "truncate %s: %s", bf->tmp,
			 strerror(errno));
		return BACKUP_EIO;
	}
	return BACKUP_OK;
}

int backup_file_commit(struct backup_file *bf, struct snapfile_meta *meta,
		       char *err, size_t errlen)
{
	char why[512];
	char *dir = NULL;
	int rv = BACKUP_EIO, v;

	if (fsync(bf->fd) < 0) {
		snprintf(err, errlen, "fsync of %s: %s", bf->tmp,
			 strerror(errno));
		goto fail;
	}
	v = snapfile_verify(bf->fd, meta, why, sizeof(why));
	if (v != SNAPFILE_OK) {
		snprintf(err, errlen, "%s: %s", bf->tmp, why);
		rv = v == SNAPFILE_ECORRUPT ? BACKUP_ECORRUPT : BACKUP_EIO;
		goto fail;
	}
	if (close(bf->fd) < 0) {
		bf->fd = -1;
		snprintf(err, errlen, "close of %s: %s", bf->tmp,
			 strerror(errno));
		goto fail;
	}
	bf->fd = -1;
	if (rename(bf->tmp, bf->path) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", bf->tmp, bf->path,
			 strerror(errno));
		goto fail;
	}
	free(bf->tmp);
	bf->tmp = NULL; /* renamed: nothing left to remove */
	dir = dir_of(bf->path);
	rv = fsync_dir(dir, err, errlen);
	free(dir);
	return rv;
fail:
	backup_file_abort(bf);
	return rv;
}

void backup_file_abort(struct backup_file *bf)
{
	if (bf->fd >= 0)
		close(bf->fd);
	bf->fd = -1;
	if (bf->tmp)
		unlink(bf->tmp);
	free(bf->tmp);
	free(bf->path);
	bf->tmp = NULL;
	bf->path = NULL;
}

/* ---- restore FILE DIR... ---------------------------------------------- */

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* A meta slot that holds anything: 1 with a message, 0 if it is missing,
 * empty or all zeros (written never), -1 if it cannot be read. */
static int meta_holds_term(const char *dir, const char *name, char *err,
			   size_t errlen)
{
	char *path = util_xasprintf("%s/%s", dir, name);
	uint8_t b[META_SIZE];
	ssize_t got;
	bool zero = true;
	int fd, rv = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rv = -1;
		}
		goto out;
	}
	got = pread(fd, b, sizeof(b), 0);
	if (got < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rv = -1;
		goto out;
	}
	for (ssize_t i = 0; i < got; i++)
		zero = zero && b[i] == 0;
	if (zero)
		goto out;
	rv = 1;
	if (got == META_SIZE && memcmp(b, META_MAGIC, 8) == 0)
		snprintf(err, errlen,
			 "%s holds a node's term and vote (term %" PRIu64
			 "): it is a node's data dir already",
			 path, bytes_get_u64(b + 24));
	else
		snprintf(err, errlen,
			 "%s is not empty: it looks like a node's data dir",
			 path);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rv;
}

int backup_check_dir(const char *dir, char *err, size_t errlen)
{
	static const char *const metas[] = {"meta1", "meta2"};
	struct stat sb;
	char *p;
	bool held;

	if (stat(dir, &sb) < 0) {
		if (errno == ENOENT)
			return BACKUP_OK; /* made by backup_restore_dir() */
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return BACKUP_EIO;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return BACKUP_EREFUSE;
	}
	p = util_xasprintf("%s/%s", dir, DATA_RAFTLOG);
	held = exists(p);
	if (held)
		snprintf(err, errlen,
			 "%s holds a raftlog: it is a node's data dir already",
			 p);
	free(p);
	if (held)
		return BACKUP_EREFUSE;
	p = util_xasprintf("%s/%s", dir, DATA_SNAPSHOT);
	held = exists(p);
	if (held)
		snprintf(err, errlen, "%s exists already", p);
	free(p);
	if (held)
		return BACKUP_EREFUSE;
	for (size_t i = 0; i < sizeof(metas) / sizeof(metas[0]); i++) {
		int m = meta_holds_term(dir, metas[i], err, errlen);
		if (m != 0)
			return m > 0 ? BACKUP_EREFUSE : BACKUP_EIO;
	}
	return BACKUP_OK;
}

/* mkdir -p, fsyncing the parent of each directory it creates (as raftd
 * makes its data dir). */
static int mkdir_p(const char *dir, char *err, size_t errlen)
{
	char *path = xstrdup(dir);
	int rv = BACKUP_EIO;

	for (char *p = path + 1;; p++) {
		char saved = *p;
		char *parent;

		if (*p != '/' && *p != '\0')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == 0) {
			parent = dir_of(path);
			if (fsync_dir(parent, err, errlen) < 0) {
				free(parent);
				goto out;
			}
			free(parent);
		} else if (errno != EEXIST) {
			snprintf(err, errlen, "mkdir %s: %s", path,
				 strerror(errno));
			goto out;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	rv = BACKUP_OK;
out:
	free(path);
	return rv;
}

/* Copies src to a new file dst (O_EXCL is not used: a leftover temporary
 * file of an interrupted restore is overwritten), fsync'ed.  Returns the
 * open descriptor of dst, or -1 with a message. */
static int copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
	uint8_t *buf = xmalloc(COPY_BLOCK);
	uint64_t off = 0;
	int in = -1, out = -1;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		goto fail;
	}
	out = open(dst, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		snprintf(err, errlen, "cannot create %s: %s", dst,
			 strerror(errno));
		goto fail;
	}
	for (;;) {
		ssize_t n = read(in, buf, COPY_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read %s: %s", src,
				 strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (write_all(out, buf, (size_t)n, off) < 0) {
			snprintf(err, errlen, "write %s: %s", dst,
				 strerror(errno));
			goto fail;
		}
		off += (uint64_t)n;
	}
	if (fsync(out) < 0) {
		snprintf(err, errlen, "fsync of %s: %s", dst, strerror(errno));
		goto fail;
	}
	close(in);
	free(buf);
	return out;
fail:
	if (in >= 0)
		close(in);
	if (out >= 0) {
		close(out);
		unlink(dst);
	}
	free(buf);
	return -1;
}

/* Renames tmp to dst unless dst exists (no window where a snapshot that
 * appeared meanwhile could be replaced). */
static int rename_noreplace(const char *tmp, const char *dst)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A filesystem without RENAME_NOREPLACE: a hard link fails just
	 * the same when dst exists. */
	if (link(tmp, dst) < 0)
		return -1;
	unlink(tmp);
	return 0;
}

int backup_restore_dir(const char *src, const struct snapfile_meta *meta,
		       const char *dir, char *err, size_t errlen)
{
	char *tmp = util_xasprintf("%s/%s", dir, DATA_SNAPSHOT_TMP);
	char *dst = util_xasprintf("%s/%s", dir, DATA_SNAPSHOT);
	struct snapfile_meta *copy = xmalloc(sizeof(*copy));
	char why[512];
	int fd = -1, rv = BACKUP_EIO, v;

	if (mkdir_p(dir, err, errlen) < 0)
		goto out;
	fd = copy_file(src, tmp, err, errlen);
	if (fd < 0)
		goto out;
	/* What reached the disk is what raftd will load: check the copy,
	 * and that it is the file that was checked before (not one that
	 * changed since). */
	v = snapfile_verify(fd, copy, why, sizeof(why));
	if (v != SNAPFILE_OK || copy->index != meta->index ||
	    copy->term != meta->term || copy->file_size != meta->file_size) {
		if (v != SNAPFILE_OK)
			snprintf(err, errlen, "the copy %s: %s", tmp, why);
		else
			snprintf(err, errlen,
				 "%s changed while it was copied (now index "
				 "%" PRIu64 ", %" PRIu64 " bytes)",
				 src, copy->index, copy->file_size);
		rv = v == SNAPFILE_EIO ? BACKUP_EIO : BACKUP_ECORRUPT;
		unlink(tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename_noreplace(tmp, dst) < 0) {
		if (errno == EEXIST) {
			snprintf(err, errlen,
				 "%s appeared meanwhile: not replaced", dst);
			rv = BACKUP_EREFUSE;
		} else {
			snprintf(err, errlen, "rename %s to %s: %s", tmp, dst,
				 strerror(errno));
		}
		unlink(tmp);
		goto out;
	}
	rv = fsync_dir(dir, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(copy);
	free(tmp);
	free(dst);
	return rv;
}

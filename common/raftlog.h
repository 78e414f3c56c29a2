/* raftlog.h: the raftlog file format (encode, decode, read-only scan).
 *
 * Shared by the daemon's storage (daemon/storage.c), which appends to the
 * file and recovers it at startup, and by `raftctl check`, which reads
 * files downloaded from the nodes.  Nothing here writes a file, keeps
 * global state or starts a thread.  The byte layout and the recovery rules
 * are in docs/RAFTLOG-FORMAT.md; in short:
 *
 *   file   = header (32 bytes) record*
 *   header = "RAFTDLOG" | u32 version (1) | u32 header size (32)
 *            | u64 first index | u32 0 | u32 crc32c(bytes 0..27)
 *   record = u32 crc32c(bytes 4..end) | u32 body length L | u8 type
 *            | 7 zero bytes | body (L bytes) | zero padding to 8 bytes
 *   ENTRY  body = u64 index | u64 term | u8 entry type | payload
 *   COMMIT body = u64 commit index
 *   BASE   body = u64 index | u64 term: the entry just before the log's
 *          first (a compacted log starts after a snapshot); the first
 *          record of a file whose first index is > 1, and only there
 *
 * All integers are little-endian.
 */
#ifndef RAFTD_RAFTLOG_H
#define RAFTD_RAFTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFTLOG_MAGIC "RAFTDLOG" /* 8 bytes, no NUL in the file */
#define RAFTLOG_VERSION 1u
#define RAFTLOG_HEADER_SIZE 32u
#define RAFTLOG_REC_HEADER_SIZE 16u
#define RAFTLOG_ENTRY_FIXED 17u /* index, term, entry type */

/* Entry types: the values of the consensus core's enum raft_entry_type
 * (raftd checks that they agree at compile time). */
enum raftlog_entry_type {
	RAFTLOG_ENTRY_NOOP = 0,
	RAFTLOG_ENTRY_COMMAND = 1,
};
#define RAFTLOG_MAX_PAYLOAD (1024u * 1024u)
#define RAFTLOG_MAX_BODY (RAFTLOG_ENTRY_FIXED + RAFTLOG_MAX_PAYLOAD)
#define RAFTLOG_COMMIT_SIZE 24u /* a whole COMMIT record */

/* Return codes (0 on success). */
enum {
	RAFTLOG_OK = 0,
	RAFTLOG_EINVAL = -1,   /* bad argument */
	RAFTLOG_ESHORT = -2,   /* the bytes end inside a record */
	RAFTLOG_ECORRUPT = -3, /* not a valid record / file; see the message */
	RAFTLOG_EIO = -4,      /* a read failed */
	RAFTLOG_ENOMEM = -5,
};

enum raftlog_rec_type {
	RAFTLOG_REC_ENTRY = 1,
	RAFTLOG_REC_COMMIT = 2, /* advisory commit index marker */
	RAFTLOG_REC_BASE = 3,	/* (index, term) before the first entry */
};
#define RAFTLOG_BASE_SIZE 32u /* a whole BASE record */

/* One log entry.  `data` is borrowed: from the caller when encoding, from
 * the decoded buffer (or the scan's read buffer, valid during the
 * callback only) when decoding. */
struct raftlog_entry {
	uint64_t index;
	uint64_t term;
	uint8_t type; /* the core's entry type, opaque here */
	uint32_t len;
	const uint8_t *data;
};

/* A decoded record. */
struct raftlog_record {
	uint8_t rtype; /* enum raftlog_rec_type */
	uint32_t size; /* bytes the record takes, padding included */
	struct raftlog_entry entry; /* RAFTLOG_REC_ENTRY */
	uint64_t commit_index;	    /* RAFTLOG_REC_COMMIT */
	uint64_t base_index;	    /* RAFTLOG_REC_BASE */
	uint64_t base_term;
};

/* ---- encoding ------------------------------------------------------- */

/* Bytes the ENTRY record of a payload of `len` bytes takes. */
size_t raftlog_entry_size(uint32_t len);

/* Writes the 32-byte file header into `buf`. */
void raftlog_encode_header(uint8_t *buf, uint64_t first_index);

/* Encodes `e` as an ENTRY record into `buf` (`cap` bytes, at least
 * raftlog_entry_size(e->len)); *used gets the record's size.
 * RAFTLOG_EINVAL: index 0, payload over RAFTLOG_MAX_PAYLOAD, or no room. */
int raftlog_encode_entry(uint8_t *buf, size_t cap,
			 const struct raftlog_entry *e, size_t *used);

/* Encodes a COMMIT record (RAFTLOG_COMMIT_SIZE bytes) into `buf`. */
int raftlog_encode_commit(uint8_t *buf, size_t cap, uint64_t commit_index,
			  size_t *used);

/* Encodes a BASE record (RAFTLOG_BASE_SIZE bytes) into `buf`. */
int raftlog_encode_base(uint8_t *buf, size_t cap, uint64_t index, uint64_t term,
			size_t *used);

/* ---- decoding ------------------------------------------------------- */

/* Checks a file header (`len` bytes at `buf`) and returns its first index.
 * RAFTLOG_ESHORT when len < RAFTLOG_HEADER_SIZE; RAFTLOG_ECORRUPT with a
 * reason in `why` for a bad magic, version, size or checksum. */
int raftlog_decode_header(const uint8_t *buf, size_t len, uint64_t *first_index,
			  char *why, size_t whylen);

/* Decodes the record at the start of `buf` (`len` bytes available).
 * RAFTLOG_OK: *rec is filled (rec->entry.data points into buf).
 * RAFTLOG_ESHORT: the record goes on past `len`; *need is how many bytes
 *   are needed to go on (`need` may be NULL).
 * RAFTLOG_ECORRUPT: not a valid record (`why` says why). */
int raftlog_decode_record(const uint8_t *buf, size_t len,
			  struct raftlog_record *rec, size_t *need, char *why,
			  size_t whylen);

/* ---- scanning a file (read-only) ------------------------------------ */

/* Called for each valid record in file order.  Either may be NULL.  A
 * nonzero return stops the scan, and raftlog_scan_*() returns that value.
 * The entry's data is valid during the call only. */
struct raftlog_scan_ops {
	int (*entry)(void *arg, const struct raftlog_entry *e, uint64_t offset);
	int (*commit)(void *arg, uint64_t commit_index, uint64_t offset);
	void *arg;
};

struct raftlog_scan_result {
	uint64_t file_size;
	uint64_t first_index; /* from the header */
	uint64_t base_term;   /* the BASE record's (first_index > 1), or 0 */
	uint64_t n_entries;
	uint64_t last_index; /* first_index - 1 when there are no entries */
	uint64_t last_term;  /* 0 when there are no entries */
	uint64_t n_commits;  /* COMMIT markers seen */
	uint64_t max_commit; /* highest COMMIT marker, 0 when none */
	uint64_t valid_end;  /* offset just past the last valid record */
	/* A torn tail: [valid_end, file_size) is an unfinished write (a record
	 * cut short, a checksum mismatch in the last record, or garbage with
	 * no valid record after it).  Recovery drops it; the scan itself
	 * leaves the file alone. */
	bool torn;
	char torn_why[160];
	/* When the scan returns RAFTLOG_ECORRUPT: where, and the entry index
	 * that was expected there (0 for a header problem). */
	uint64_t bad_offset;
	uint64_t bad_index;
};

/* Reads and validates a whole raftlog from the open descriptor `fd`
 * (pread only; the file offset and contents are left alone).  `name` is
 * used in messages.  Checks the header, every record's checksum, that
 * entry indexes are consecutive from the header's first index and that
 * terms never decrease.
 *
 * Returns RAFTLOG_OK when the file is valid up to res->valid_end, with
 * res->torn set if a torn tail follows.  Returns RAFTLOG_ECORRUPT when
 * the damage is not a torn tail: a bad header, a bad record followed by a
 * valid one (corruption in the middle), or valid records that break the
 * index/term rules; `err` then names the file, the byte offset, the entry
 * index and what the operator should do.  RAFTLOG_EIO, RAFTLOG_ENOMEM, or
 * a callback's nonzero value otherwise. */
int raftlog_scan_fd(int fd, const char *name,
		    const struct raftlog_scan_ops *ops,
		    struct raftlog_scan_result *res, char *err, size_t errlen);

/* raftlog_scan_fd() on `path`, opened read-only. */
int raftlog_scan_file(const char *path, const struct raftlog_scan_ops *ops,
		      struct raftlog_scan_result *res, char *err,
		      size_t errlen);

const char *raftlog_strerror(int rv);
const char *raftlog_rec_type_name(uint8_t rtype);

#endif /* RAFTD_RAFTLOG_H */

/* command.h: the binary encoding of a client write (a log entry's payload).
 *
 * Every write a client makes (addEntry, put, delete, cas, multiPut) travels
 * through the Raft log as one RAFT_ENTRY_COMMAND entry whose payload is a
 * command encoded here; every node decodes it and applies it to its state
 * machine (daemon/sm.h).  The format is described in docs/STATE-MACHINE.md:
 *
 *   u8 version (1) | u8 op | u8 flags (bit 0: a tid follows) | [tid] | body
 *
 * with strings as a canonical LEB128 length followed by the bytes.  The
 * encoding is canonical (one byte string per command: minimal varints,
 * multiPut pairs sorted by key), so two commands have the same arguments
 * exactly when their encodings are equal; tid de-duplication relies on it.
 *
 * The module is pure (no I/O, no clock, no global state) and reentrant.
 */
#ifndef RAFTD_COMMAND_H
#define RAFTD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMMAND_VERSION 1

/* Limits (bytes).  Over a limit, command_encode() fails with
 * COMMAND_ETOOBIG (the RPC layer's fault 3) and command_decode() rejects
 * the payload.  The multiPut total counts the bytes of every key and value. */
#define COMMAND_MAX_KEY (1024u)
#define COMMAND_MAX_VALUE (256u * 1024u) /* also addEntry's data */
#define COMMAND_MAX_TID (128u)
#define COMMAND_MAX_PAIRS (1000u)
#define COMMAND_MAX_MPUT_BYTES (512u * 1024u)

/* An upper bound on any valid encoding (a cas with a full key, expected
 * value and value, or a full multiPut, plus header and varints); it is
 * below the core's RAFT_MAX_ENTRY_BYTES (1 MiB). */
#define COMMAND_MAX_BYTES (640u * 1024u)

/* A buffer of this size always holds command_format()'s whole line. */
#define COMMAND_FORMAT_SIZE 1024u

/* Error codes (0 on success); command_strerror() names them. */
enum {
	COMMAND_OK = 0,
	COMMAND_EINVAL = -1,	/* encode: bad argument (no tid for add, empty
				 * tid, duplicate multiPut key, unknown op) */
	COMMAND_ETOOBIG = -2,	/* a key, value, data, tid or multiPut over
				 * its limit (encode and decode) */
	COMMAND_EVERSION = -3,	/* decode: unknown format version */
	COMMAND_EOP = -4,	/* decode: unknown op or flag bits */
	COMMAND_ETRUNC = -5,	/* decode: payload ends inside a field */
	COMMAND_ETRAILING = -6, /* decode: bytes after the last field */
	COMMAND_ENONCANON = -7, /* decode: overlong varint, or multiPut keys
				 * not strictly ascending */
};

enum command_op {
	COMMAND_ADD = 1,  /* addEntry(tid, data); the tid is required */
	COMMAND_PUT = 2,  /* put(key, value[, tid]) */
	COMMAND_DEL = 3,  /* delete(key[, tid]) */
	COMMAND_CAS = 4,  /* cas(key, expected, value[, tid]) */
	COMMAND_MPUT = 5, /* multiPut(pairs[, tid]) */
};

/* A byte string that is NOT NUL-terminated (decoded strings point into
 * the payload). */
struct command_str {
	const char *p;
	size_t len;
};

struct command_pair {
	struct command_str key;
	struct command_str value;
};

/* A decoded (or to be encoded) command.  Which fields count depends on op:
 *   ADD: tid, data        PUT: key, value         DEL: key
 *   CAS: key, expected, value                    MPUT: pairs, n_pairs
 * `has_tid` says whether `tid` is present (always true for ADD). */
struct command {
	enum command_op op;
	bool has_tid;
	struct command_str tid;
	struct command_str key;
	struct command_str value;
	struct command_str expected;
	struct command_str data;
	size_t n_pairs;
	struct command_pair *pairs;
};

/* Encodes `c` into a new buffer.  Every string of `c` is only read (the
 * caller keeps ownership); multiPut pairs may come in any order, they are
 * sorted by key in the encoding (the caller's array is not reordered).  On
 * success *out is a malloc'd buffer of *len bytes that the caller frees
 * with free(); on failure *out is NULL.  Rejects: a missing or empty tid for
 * ADD, an empty tid (has_tid with len 0), duplicate multiPut keys, any
 * limit exceeded (COMMAND_ETOOBIG). */
int command_encode(const struct command *c, uint8_t **out, size_t *len);

/* Decodes `buf` (`len` bytes) into *c.  Never reads outside buf.  On
 * success the strings of *c point INTO buf (borrowed: valid while buf is),
 * and for MPUT c->pairs is a malloc'd array owned by *c: release it with
 * command_release().  On failure *c holds nothing to release (it is zeroed)
 * and the code says why (COMMAND_EVERSION ... COMMAND_ENONCANON,
 * COMMAND_ETOOBIG). */
int command_decode(const void *buf, size_t len, struct command *c);

/* Frees what command_decode() allocated in *c (the pairs array) and zeroes
 * *c.  Accepts NULL and a zeroed command. */
void command_release(struct command *c);

/* 64-bit FNV-1a of an encoded command: what the state machine remembers
 * per tid to tell a retry (same bytes) from a conflicting reuse. */
uint64_t command_hash(const void *buf, size_t len);

/* Flags for command_format(). */
#define COMMAND_FORMAT_NO_TID 1u /* leave out the tid (shown elsewhere) */

/* Renders *c as one short human-readable line for log inspection, e.g.
 *   put k="user:1" v="alice" tid="t-9"
 *   add tid="t-1" data="hello"
 *   cas k="x" old="" new="1"
 *   mput n=3 "a"="1" "b"="2" "c"="3"
 *   del k="x"
 * Strings are quoted; '"' and '\\' are escaped, control characters and
 * bytes that are not well-formed UTF-8 become \n, \t, \r or \xHH; a
 * string is cut once about 40 bytes of it are shown, and then followed by
 * `...(N bytes)` giving its full length; a multiPut shows
 * its first three pairs then `...`.  Writes at most `size` bytes into
 * `out`, always NUL-terminated when size > 0 (COMMAND_FORMAT_SIZE is always
 * enough).  Returns 0, or COMMAND_EINVAL for an unknown op. */
int command_format(const struct command *c, unsigned flags, char *out,
		   size_t size);

/* Decodes and formats a payload in one step; a malformed payload renders
 * as `invalid command (N bytes: reason)`.  Returns command_decode()'s code
 * (the line is written in every case). */
int command_describe(const void *buf, size_t len, unsigned flags, char *out,
		     size_t size);

/* The op's name as used by command_format() ("add", "put", "del", "cas",
 * "mput"), or "?" for an unknown op.  Static string. */
const char *command_op_name(enum command_op op);

/* A static message for a COMMAND_E* code. */
const char *command_strerror(int rv);

#endif /* RAFTD_COMMAND_H */

/* snapfile.h: the snapshot file format (docs/RAFTLOG-FORMAT.md,
 * "snapshot").
 *
 * Shared by raftd (which writes snapshots, sends them to followers and
 * loads them at start-up) and raftctl (backup, restore, and `check`, which
 * reads a node's snapshot metadata).  A snapshot file is
 *
 *   header  64 bytes: "RAFTSNAP" | u32 version (1) | u32 header size (64)
 *           | u64 last included index | u64 its term | u64 body length B
 *           | 20 zero bytes | u32 crc32c(bytes 0..59)
 *   body    B bytes: the cluster configuration section, then the state
 *           machine's bytes (daemon/sm.h, sm_save)
 *   trailer u32 crc32c(body)
 *
 * configuration section = u32 n, then n times: u32 node id, u16 address
 * length, address bytes, and (version 2) u8 flags (bit 0 voter, bit 1 a
 * learner to promote), u64 incarnation, u16 peer address length, peer
 * address bytes.  A
 * version 1 file (no flags: every node a voter) is still read.  All
 * integers little-endian.
 *
 * Nothing here keeps global state or starts a thread.  Reading is for
 * untrusted bytes: a file downloaded from anywhere, or a peer's transfer.
 */
#ifndef RAFT_COMMON_SNAPFILE_H
#define RAFT_COMMON_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAPFILE_MAGIC "RAFTSNAP"
#define SNAPFILE_VERSION 2u
#define SNAPFILE_HEADER_SIZE 64u
#define SNAPFILE_TRAILER_SIZE 4u
/* Nodes a configuration section may list, and an address's length. */
#define SNAPFILE_MAX_NODES 64u
#define SNAPFILE_ADDRESS_MAX 280u
/* The largest body a reader accepts (a bound for hostile headers; a
 * state machine this big would not fit in a node's memory anyway). */
#define SNAPFILE_MAX_BODY (UINT64_C(1) << 40)

/* Return codes (0 on success). */
enum {
	SNAPFILE_OK = 0,
	SNAPFILE_EIO = -1,	/* a read or write failed (errno kept) */
	SNAPFILE_ECORRUPT = -2, /* not a valid snapshot: see the message */
	SNAPFILE_ENOENT = -3,	/* no such file */
};

struct snapfile_node {
	uint32_t id;
	uint8_t flags; /* SNAPFILE_NODE_* */
	char address[SNAPFILE_ADDRESS_MAX + 1];
	char peer_address[SNAPFILE_ADDRESS_MAX + 1]; /* "" if not recorded */
	uint64_t incarnation; /* its data dir's identity, 0 if not recorded */
};
#define SNAPFILE_NODE_VOTER 0x01
#define SNAPFILE_NODE_PROMOTE 0x02

/* What a snapshot says about itself. */
struct snapfile_meta {
	uint64_t index;	    /* the last log index it includes */
	uint64_t term;	    /* that entry's term */
	uint64_t body_len;  /* B */
	uint32_t version;   /* the file's format version */
	uint64_t file_size; /* header + body + trailer */
	uint32_t n_nodes;   /* the cluster configuration it was taken in */
	struct snapfile_node nodes[SNAPFILE_MAX_NODES];
	uint64_t sm_offset; /* where the state machine's bytes start... */
	uint64_t sm_len;    /* ...and how many there are */
};

/* The 64-byte header for (index, term, body_len). */
void snapfile_header_encode(uint8_t *buf, uint64_t index, uint64_t term,
			    uint64_t body_len);
/* Checks and decodes a header into meta (index, term, body_len,
 * file_size).  SNAPFILE_ECORRUPT with a static reason in *why. */
int snapfile_header_decode(const uint8_t *buf, size_t len,
			   struct snapfile_meta *meta, const char **why);

/* The configuration section's bytes for these nodes: writes at most `cap`
 * bytes to buf and returns the size it needs (call with cap 0 to ask). */
size_t snapfile_config_encode(uint8_t *buf, size_t cap,
			      const struct snapfile_node *nodes, uint32_t n);

/* Reads and checks the whole file on fd from its start: header, body
 * checksum, configuration section.  Fills meta (and the node list).  On
 * SNAPFILE_ECORRUPT / SNAPFILE_EIO, `err` says what and where.  Reads the
 * file once, in blocks; the caller then reads the state machine's bytes at
 * meta->sm_offset if it wants them. */
int snapfile_verify(int fd, struct snapfile_meta *meta, char *err,
		    size_t errlen);

/* snapfile_verify() of the file at `path` (SNAPFILE_ENOENT if absent). */
int snapfile_verify_path(const char *path, struct snapfile_meta *meta,
			 char *err, size_t errlen);

#endif /* RAFT_COMMON_SNAPFILE_H */

/* ident.h: who a node and its cluster are, so that a node of another
 * cluster, or a node whose data was wiped and that comes back under its old
 * id, cannot take part by accident (docs/DESIGN.md, "Membership").
 *
 *   cluster id   the first 8 bytes of SHA-256 over the bootstrap
 *                configuration (the config file's node list: ids and
 *                addresses, in id order): the same on every node of a
 *                cluster, different for another one;
 *   incarnation  a random 64-bit number drawn when a data directory is
 *                first used, kept in DATA_DIR/identity with the cluster id
 *                and the node id (and, for a node that joined later, the
 *                address it serves).
 *
 * Every peer frame carries both (wire.h).  A receiver refuses a frame of
 * another cluster, and remembers each member's incarnation (DATA_DIR/peers):
 * a frame from a member with another incarnation is refused until that
 * member is removed from the configuration (and added again), or until it
 * leads a term with the new one (ident_peer_adopt).  A data
 * directory of another cluster or another node id is refused at start-up.
 *
 * Thread safety: ident_peer_*() may be called from any thread (an internal
 * mutex, a leaf lock).
 */
#ifndef RAFTD_IDENT_H
#define RAFTD_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct ident {
	uint64_t cluster;
	uint32_t node;
	uint64_t incarnation;
	/* A node that joined a running cluster (--join): the address it
	 * serves; "" for a member of the bootstrap configuration. */
	char address[CONFIG_ADDRESS_MAX];
	/* The identity was created by this start: a new data dir, or one
	 * `raftctl restore` filled (or one of a raftd before identities). */
	bool created;
};

uint64_t ident_cluster_id(const struct config *cfg);

/* Reads DATA_DIR/identity, or creates it (durably) when the directory has
 * none.  `join` is the node --join (and --join-peer) describe (NULL: a
 * node of the bootstrap list).  Refuses (-1 with a
 * message) an identity of another cluster or node, a node outside the
 * bootstrap configuration without --join and without an identity, and
 * --join for a node of the bootstrap configuration. */
int ident_open(const char *data_dir, const struct config *cfg, uint32_t id,
	       const struct config_node *join, struct ident *out, char *err,
	       size_t errlen);

/* The members' incarnations, as learned from their frames. */
struct ident_peers;
struct ident_peers *ident_peers_open(const char *data_dir);
void ident_peers_free(struct ident_peers *ip);
/* 0 if `id`'s incarnation is `inc` (learning it, durably, the first time:
 * bound if `id` is in the configuration in force, else released, as if
 * removed), -1 if another one was recorded. */
int ident_peer_check(struct ident_peers *ip, uint32_t id, uint64_t inc);
/* Records `inc` as `id`'s incarnation, bound, whatever was recorded (a
 * member first heard from this way outside the configuration is recorded
 * released, as by ident_peer_check): the
 * caller has seen `id` lead a term no older than its own with it.  Only a
 * quorum that took `inc` can have elected it; a node that missed the
 * member's removal and return (down, or behind and then given both in
 * one batch or in a snapshot, with no incarnation in the configuration)
 * would otherwise refuse the only leader that can tell it. */
void ident_peer_adopt(struct ident_peers *ip, uint32_t id, uint64_t inc);
/* The configuration in force lists ids[0..n): the members it no longer
 * lists are released: the first other incarnation seen from one of them
 * replaces the recorded one (it may come back with a new data directory),
 * while the recorded one is still taken until then (a leader removing
 * itself goes on sending until it steps down).  incs[k], when not 0, is
 * the incarnation the configuration records for ids[k] (added with it):
 * it replaces whatever was recorded (a node that saw a member's removal
 * and its return in one batch, or in a snapshot, never released it). */
void ident_peers_keep(struct ident_peers *ip, const uint32_t *ids,
		      const uint64_t *incs, size_t n);

#endif /* RAFTD_IDENT_H */

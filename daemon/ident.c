/* ident.c: the cluster's and the node's identity (ident.h). */
#include "ident.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "xalloc.h"

#define IDENT_FILE "identity"
#define PEERS_FILE "peers"
#define IDENT_MAX_PEERS 64

uint64_t ident_cluster_id(const struct config *cfg)
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	uint32_t done = 0;
	uint64_t id = 0;
	size_t k;
	int i;

	sha256_init(&ctx);
	sha256_update(&ctx, 16, (const uint8_t *)"raftd-cluster-v1");
	/* In id order, so that the file's order does not matter. */
	for (k = 0; k < cfg->n_nodes; k++) {
		const struct config_node *best = NULL;
		char line[CONFIG_ADDRESS_MAX + 32];
		size_t j;
		int n;
		for (j = 0; j < cfg->n_nodes; j++)
			if (cfg->nodes[j].id > done &&
			    (best == NULL || cfg->nodes[j].id < best->id))
				best = &cfg->nodes[j];
		if (best == NULL)
			break;
		done = best->id;
		n = snprintf(line, sizeof(line), "%u=%s;", best->id,
			     best->address);
		sha256_update(&ctx, (size_t)n, (const uint8_t *)line);
	}
	sha256_digest(&ctx, sizeof(d), d);
	for (i = 0; i < 8; i++)
		id = id << 8 | d[i];
	return id ? id : 1;
}

static uint64_t random_u64(void)
{
	uint64_t x = 0;

	while (x == 0)
		if (getrandom(&x, sizeof(x), 0) != sizeof(x))
			x = 0;
	return x;
}

/* Writes path durably: a temporary file, fsync, rename, directory fsync. */
static int write_durably(const char *dir, const char *name, const char *text,
			 char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	int fd, dfd, rv = -1;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) == 0)
			rv = 0;
		else
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		close(dfd);
	} else {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
	}
	return rv;
}

int ident_open(const char *data_dir, const struct config *cfg, uint32_t id,
	       const struct config_node *join, struct ident *out, char *err,
	       size_t errlen)
{
	const char *join_address = join != NULL ? join->address : NULL;
	char peer_line[CONFIG_ADDRESS_MAX + 16] = "";
	char path[4096], text[1024], addr[CONFIG_ADDRESS_MAX] = "";
	unsigned long long cluster = 0, inc = 0;
	unsigned node = 0;
	bool bootstrap = config_node_by_id(cfg, id) != NULL;
	FILE *f;

	memset(out, 0, sizeof(*out));
	out->cluster = ident_cluster_id(cfg);
	out->node = id;
	snprintf(path, sizeof(path), "%s/%s", data_dir, IDENT_FILE);
	f = fopen(path, "re");
	if (f != NULL) {
		char line[CONFIG_ADDRESS_MAX + 32];
		int got = 0;
		while (fgets(line, sizeof(line), f) != NULL) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			if (sscanf(line, "cluster %llx", &cluster) == 1 ||
			    sscanf(line, "node %u", &node) == 1 ||
			    sscanf(line, "incarnation %llx", &inc) == 1)
				got++;
			else if (strncmp(line, "address ", 8) == 0 &&
				 strlen(line + 8) < sizeof(addr))
				memcpy(addr, line + 8, strlen(line + 8) + 1);
		}
		fclose(f);
		if (got != 3 || inc == 0) {
			snprintf(err, errlen,
				 "%s: not a raftd identity file (expected "
				 "cluster, node and incarnation lines)",
				 path);
			return -1;
		}
		if (node != id) {
			snprintf(err, errlen,
				 "%s: this data directory belongs to node %u, "
				 "not %u",
				 path, node, id);
			return -1;
		}
		if (cluster != out->cluster) {
			snprintf(err, errlen,
				 "%s: this data directory belongs to another "
				 "cluster (id %016llx; the config's node list "
				 "gives %016llx)",
				 path, cluster,
				 (unsigned long long)out->cluster);
			return -1;
		}
		if (join_address != NULL && addr[0] != '\0' &&
		    strcmp(join_address, addr) != 0) {
			snprintf(err, errlen,
				 "%s: node %u joined at %s, not %s", path, id,
				 addr, join_address);
			return -1;
		}
		out->incarnation = inc;
		snprintf(out->address, sizeof(out->address), "%s", addr);
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (bootstrap && join_address != NULL) {
		snprintf(err, errlen,
			 "--join: node %u is in the config's node list (the "
			 "bootstrap configuration); a new member takes an id "
			 "that is not",
			 id);
		return -1;
	}
	if (!bootstrap && join_address == NULL) {
		snprintf(err, errlen,
			 "node %u is not in the config's node list: start a "
			 "new member with --join HOST:PORT (its address), then "
			 "add it with `raftctl member add %u HOST:PORT`",
			 id, id);
		return -1;
	}
	out->incarnation = random_u64();
	out->created = true;
	if (join_address != NULL)
		snprintf(out->address, sizeof(out->address), "%s",
			 join_address);
	/* A peer address other than port + 1000 (--join-peer) too. */
	if (join != NULL &&
	    (join->peer_port != join->port + CONFIG_PEER_PORT_OFFSET ||
	     strcmp(join->peer_host, join->host) != 0))
		snprintf(peer_line, sizeof(peer_line), "peer_address %s\n",
			 join->peer_address);
	snprintf(text, sizeof(text),
		 "# raftd identity: do not edit or copy to another node\n"
		 "cluster %016llx\nnode %u\nincarnation %016llx\n%s%s%s%s",
		 (unsigned long long)out->cluster, id,
		 (unsigned long long)out->incarnation,
		 out->address[0] ? "address " : "", out->address,
		 out->address[0] ? "\n" : "", peer_line);
	return write_durably(data_dir, IDENT_FILE, text, err, errlen);
}

/* ---- the members' incarnations ------------------------------------------ */

struct ident_peers {
	pthread_mutex_t lock;
	char *dir;
	size_t n;
	struct {
		uint32_t id;
		uint64_t inc;
		/* Removed from the configuration since: the next other
		 * incarnation replaces this one (the node may come back
		 * with a new data dir).  Until then the old one is still
		 * taken: a leader removing itself goes on sending until
		 * it steps down. */
		bool released;
		bool member; /* in the configuration in force */
	} e[IDENT_MAX_PEERS];
	/* The configuration in force, once ident_peers_keep() told it:
	 * an id first heard from while not in it is recorded released. */
	bool conf_known;
	size_t conf_n;
	uint32_t conf_ids[IDENT_MAX_PEERS];
};

static bool conf_lists(const struct ident_peers *ip, uint32_t id)
{
	if (!ip->conf_known)
		return true;
	for (size_t k = 0; k < ip->conf_n; k++)
		if (ip->conf_ids[k] == id)
			return true;
	return false;
}

static void peers_save(struct ident_peers *ip)
{
	char text[IDENT_MAX_PEERS * 40 + 64], err[512];
	size_t i, off = 0;

	off += (size_t)snprintf(text, sizeof(text),
				"# raftd: members' incarnations\n");
	for (i = 0; i < ip->n; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"%u %016llx%s\n", ip->e[i].id,
					(unsigned long long)ip->e[i].inc,
					ip->e[i].released ? " released" : "");
	if (write_durably(ip->dir, PEERS_FILE, text, err, sizeof(err)) != 0)
		fprintf(stderr, "raftd: %s\n", err);
}

struct ident_peers *ident_peers_open(const char *data_dir)
{
	struct ident_peers *ip = xcalloc(1, sizeof(*ip));
	char path[4096], line[128];
	FILE *f;

	pthread_mutex_init(&ip->lock, NULL);
	ip->dir = xstrdup(data_dir);
	snprintf(path, sizeof(path), "%s/%s", data_dir, PEERS_FILE);
	f = fopen(path, "re");
	if (f == NULL)
		return ip;
	while (fgets(line, sizeof(line), f) != NULL &&
	       ip->n < IDENT_MAX_PEERS) {
		unsigned id;
		unsigned long long inc;
		if (sscanf(line, "%u %llx", &id, &inc) == 2 && id != 0) {
			ip->e[ip->n].id = id;
			ip->e[ip->n].inc = inc;
			ip->e[ip->n].released =
			    strstr(line, "released") != NULL;
			ip->e[ip->n].member = !ip->e[ip->n].released;
			ip->n++;
		}
	}
	fclose(f);
	return ip;
}

void ident_peers_free(struct ident_peers *ip)
{
	if (ip == NULL)
		return;
	pthread_mutex_destroy(&ip->lock);
	free(ip->dir);
	free(ip);
}

/* Records a node first heard from (ip->lock held; nothing if the table
 * is full).  A node outside the configuration (one removed before this
 * node learned of it, still running) is recorded released: when it is
 * wiped and added back, its new incarnation replaces this one instead of
 * being refused as a changed data dir. */
static void first_sight(struct ident_peers *ip, uint32_t id, uint64_t inc)
{
	if (ip->n == IDENT_MAX_PEERS)
		return;
	ip->e[ip->n].id = id;
	ip->e[ip->n].inc = inc;
	ip->e[ip->n].member = conf_lists(ip, id);
	ip->e[ip->n].released = !ip->e[ip->n].member;
	ip->n++;
	peers_save(ip);
}

int ident_peer_check(struct ident_peers *ip, uint32_t id, uint64_t inc)
{
	size_t i;
	int rv = 0;

	pthread_mutex_lock(&ip->lock);
	for (i = 0; i < ip->n && ip->e[i].id != id; i++)
		;
	if (i < ip->n && ip->e[i].inc == inc) {
		/* Back in the configuration with the same data dir: its
		 * incarnation is bound again. */
		if (ip->e[i].released && ip->e[i].member) {
			ip->e[i].released = false;
			peers_save(ip);
		}
	} else if (i < ip->n && ip->e[i].released) {
		/* Removed, then back with a new data dir: the new one. */
		ip->e[i].inc = inc;
		ip->e[i].released = false;
		peers_save(ip);
	} else if (i < ip->n) {
		rv = -1;
	} else {
		first_sight(ip, id, inc);
	}
	pthread_mutex_unlock(&ip->lock);
	return rv;
}

void ident_peer_adopt(struct ident_peers *ip, uint32_t id, uint64_t inc)
{
	size_t i;

	pthread_mutex_lock(&ip->lock);
	for (i = 0; i < ip->n && ip->e[i].id != id; i++)
		;
	if (i == ip->n) {
		first_sight(ip, id, inc);
	} else if (ip->e[i].inc != inc || ip->e[i].released) {
		ip->e[i].inc = inc;
		ip->e[i].released = false;
		peers_save(ip);
	}
	pthread_mutex_unlock(&ip->lock);
}

void ident_peers_keep(struct ident_peers *ip, const uint32_t *ids,
		      const uint64_t *incs, size_t n)
{
	size_t i, k;
	bool changed = false;

	pthread_mutex_lock(&ip->lock);
	ip->conf_known = true;
	ip->conf_n = 0;
	for (k = 0; k < n && k < IDENT_MAX_PEERS; k++)
		ip->conf_ids[ip->conf_n++] = ids[k];
	/* Incarnations the configuration records (addMember with the new
	 * node's) bind their members, whatever was seen before. */
	for (k = 0; k < n; k++) {
		if (incs[k] == 0)
			continue;
		for (i = 0; i < ip->n && ip->e[i].id != ids[k]; i++)
			;
		if (i == ip->n) {
			if (ip->n == IDENT_MAX_PEERS)
				continue;
			ip->n++;
			ip->e[i].id = ids[k];
			ip->e[i].inc = 0;
		}
		if (ip->e[i].inc != incs[k] || ip->e[i].released) {
			ip->e[i].inc = incs[k];
			ip->e[i].released = false;
			changed = true;
		}
	}
	for (i = 0; i < ip->n; i++) {
		for (k = 0; k < n && ids[k] != ip->e[i].id; k++)
			;
		ip->e[i].member = k < n;
		if (k == n && !ip->e[i].released) {
			ip->e[i].released = true;
			changed = true;
		}
	}
	if (changed)
		peers_save(ip);
	pthread_mutex_unlock(&ip->lock);
}

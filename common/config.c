/* config.c: load and validate raftd's cluster config file; the only file of
 * the project that includes <libconfig.h>. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "config.h"

#include "addr.h"

/* Where errors are reported while one file is loaded. */
struct loader {
	const char *path;
	char *err;
	size_t errlen;
};

static const char *const root_keys[] = {
    "cluster",
    "data_dir",
    "election_timeout_ms",
    "heartbeat_ms",
    "request_timeout_ms",
    "max_inflight",
    "insecure",
    "http_threads",
    "max_connections",
    "max_connections_per_ip",
    "connection_timeout_s",
    "tls_cert",
    "tls_key",
    "tls_ca",
    "snapshot_entries",
    "snapshot_trailing",
    "console",
    NULL,
};
static const char *const cluster_keys[] = {"nodes", "secret", NULL};
static const char *const node_keys[] = {"id", "address", "peer_address", NULL};
static const char *const election_keys[] = {"min", "max", NULL};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int load_fail(const struct loader *ld, const config_setting_t *s,
		     const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Report "FILE:LINE: KEY: what" for setting `s` (the line is left out for
 * the root group, which has none) and return -1. */
static int load_fail(const struct loader *ld, const config_setting_t *s,
		     const char *key, const char *fmt, ...)
{
	char what[768];
	const char *file = ld->path;
	unsigned line = 0;
	va_list ap;

	if (s != NULL) {
		/* With @include the setting may come from another file. */
		if (config_setting_source_file(s) != NULL)
			file = config_setting_source_file(s);
		line = config_setting_source_line(s);
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line > 0)
		set_err(ld->err, ld->errlen, "%s:%u: %s: %s", file, line, key,
			what);
	else
		set_err(ld->err, ld->errlen, "%s: %s: %s", file, key, what);
	return -1;
}

/* "an integer", "a string", ...: for "must be X, not Y" messages. */
static const char *type_phrase(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "a setting of unknown type";
	}
}

static void key_join(char *out, size_t outlen, const char *prefix,
		     const char *name)
{
	if (prefix == NULL || prefix[0] == '\0')
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%s.%s", prefix, name);
}

/* Refuse any child of `group` not named in `known`: a misspelt key would
 * otherwise be ignored and its default used without a word. */
static int check_known(const struct loader *ld, const config_setting_t *group,
		       const char *prefix, const char *const *known)
{
	char key[320];
	char expected[512] = ""; /* every key of a group (root_keys: ~260) */
	size_t used = 0;

	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *child =
		    config_setting_get_elem(group, i);
		const char *name = config_setting_name(child);
		bool ok = false;

		for (size_t k = 0; known[k] != NULL && name != NULL; k++)
			if (strcmp(name, known[k]) == 0)
				ok = true;
		if (ok)
			continue;
		for (size_t k = 0; known[k] != NULL; k++) {
			int n =
			    snprintf(expected + used, sizeof(expected) - used,
				     "%s%s", k > 0 ? ", " : "", known[k]);
			if (n < 0 || (size_t)n >= sizeof(expected) - used) {
				/* Never show half a key name. */
				expected[used] = '\0';
				break;
			}
			used += (size_t)n;
		}
		key_join(key, sizeof(key), prefix, name != NULL ? name : "?");
		return load_fail(ld, child, key,
				 "unknown setting (expected one of: %s)",
				 expected);
	}
	return 0;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*';
}

/* Parse an integer literal as libconfig writes them ([+-]digits or
 * [+-]0xhex, optional L/LL).  *end is set past the digits; *overflow when
 * it does not fit in a long long.  Returns -1 when `s` is not a number. */
static int parse_int_literal(const char *s, long long *value, bool *overflow,
			     const char **end)
{
	unsigned long long mag = 0;
	unsigned base = 10;
	bool neg = false;
	const char *p = s;
	const char *digits;

	*overflow = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	digits = p;
	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (mag > (ULLONG_MAX - d) / base)
			*overflow = true;
		else
			mag = mag * base + d;
	}
	if (p == digits || *p == '.' || *p == 'e' || *p == 'E')
		return -1; /* not an integer (a float, a string, ...) */
	if (!neg && mag > (unsigned long long)LLONG_MAX)
		*overflow = true;
	if (neg && mag > (unsigned long long)LLONG_MAX + 1)
		*overflow = true;
	if (!*overflow)
		*value = neg ? (long long)(0 - mag) : (long long)mag;
	*end = p;
	return 0;
}

/* libconfig 1.5 silently wraps integer literals that do not fit in 32 bits
 * (4294967346 reads back as 50), which would turn a typo into another valid
 * value.  Re-read the setting's source line, and when the literal written
 * after its name is not the value libconfig returned, copy that literal to
 * `written` and return true.  When the literal cannot be found (value on
 * another line, file gone), trust libconfig. */
static bool literal_mismatch(const struct loader *ld, const config_setting_t *s,
			     char *written, size_t writtenlen)
{
	const char *file = config_setting_source_file(s);
	const char *name = config_setting_name(s);
	unsigned want = config_setting_source_line(s);
	long long value = config_setting_get_int64(s);
	bool found = false;
	bool matched = false;
	char *line = NULL;
	size_t cap = 0;
	unsigned n = 0;
	FILE *fp = NULL;
	size_t name_len;

	if (file == NULL)
		file = ld->path;
	if (name == NULL || want == 0)
		goto out;
	fp = fopen(file, "r");
	if (fp == NULL)
		goto out;
	while (n < want && getline(&line, &cap, fp) != -1)
		n++;
	if (n != want || line == NULL)
		goto out;
	name_len = strlen(name);
	for (const char *p = strstr(line, name); p != NULL && !matched;
	     p = strstr(p + 1, name)) {
		const char *q = p + name_len;
		const char *end;
		long long lit = 0;
		bool overflow;

		if ((p > line && is_name_char(p[-1])) || is_name_char(*q))
			continue;
		q += strspn(q, " \t");
		if (*q != '=' && *q != ':')
			continue;
		q++;
		q += strspn(q, " \t");
		if (parse_int_literal(q, &lit, &overflow, &end) != 0)
			continue;
		if (!overflow && lit == value) {
			matched = true;
		} else if (!found) {
			snprintf(written, writtenlen, "%.*s", (int)(end - q),
				 q);
			found = true;
		}
	}
out:
	free(line);
	if (fp != NULL)
		fclose(fp);
	return found && !matched;
}

/* Look up the integer `name` in `group` and check it lies in min..max.
 * Absent: returns 0 with *found false and *out untouched. */
static int get_int(const struct loader *ld, const config_setting_t *group,
		   const char *prefix, const char *name, long long min,
		   long long max, uint32_t *out, bool *found)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	char key[128];
	char written[64];
	long long v;

	*found = false;
	if (s == NULL)
		return 0;
	key_join(key, sizeof(key), prefix, name);
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *str = config_setting_get_string(s);

		/* "50" is the likely slip: say how to write it. */
		if (str[0] != '\0' && strlen(str) < 20 &&
		    strspn(str, "0123456789") == strlen(str))
			return load_fail(ld, s, key,
					 "must be an integer, not a string "
					 "(write %s without quotes)",
					 str);
		return load_fail(ld, s, key,
				 "must be an integer, not a string");
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return load_fail(ld, s, key, "must be an integer, not %s",
				 type_phrase(s));
	if (literal_mismatch(ld, s, written, sizeof(written)))
		return load_fail(ld, s, key, "%s is out of range (%lld..%lld)",
				 written, min, max);
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return load_fail(ld, s, key,
				 "%lld is out of range (%lld..%lld)", v, min,
				 max);
	*out = (uint32_t)v;
	*found = true;
	return 0;
}

/* Look up the boolean `name` in `group`.  Absent: 0, *out untouched. */
static int get_bool(const struct loader *ld, const config_setting_t *group,
		    const char *prefix, const char *name, bool *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	char key[128];

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		key_join(key, sizeof(key), prefix, name);
		return load_fail(ld, s, key,
				 "must be true or false (no quotes), not %s",
				 type_phrase(s));
	}
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* Look up the string `name` in `group`.  Absent: 0 with *str NULL. */
static int get_string(const struct loader *ld, const config_setting_t *group,
		      const char *prefix, const char *name, const char **str)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	char key[128];

	*str = NULL;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		key_join(key, sizeof(key), prefix, name);
		return load_fail(ld, s, key,
				 "must be a string in double quotes, not %s",
				 type_phrase(s));
	}
	*str = config_setting_get_string(s);
	return 0;
}

/* Expand a data_dir template for `id`.  Returns 0, or -1 with a reason. */
static int expand_data_dir(const char *tmpl, uint32_t id, char *out,
			   size_t outlen, char *why, size_t whylen)
{
	size_t used = 0;

	for (const char *p = tmpl; *p != '\0'; p++) {
		char piece[16];

		if (*p != '%') {
			piece[0] = *p;
			piece[1] = '\0';
		} else if (p[1] == 'i') {
			snprintf(piece, sizeof(piece), "%u", (unsigned)id);
			p++;
		} else if (p[1] == '%') {
			strcpy(piece, "%");
			p++;
		} else {
			if (p[1] == '\0')
				snprintf(why, whylen,
					 "lone '%%' at the end (write %%%% for "
					 "a percent sign)");
			else
				snprintf(why, whylen,
					 "unknown escape '%%%c' (only %%i, the "
					 "node id, and %%%%, a percent sign)",
					 p[1]);
			return -1;
		}
		if (used + strlen(piece) >= outlen) {
			snprintf(why, whylen,
				 "longer than %zu bytes once expanded for node "
				 "%u",
				 outlen - 1, (unsigned)id);
			return -1;
		}
		strcpy(out + used, piece);
		used += strlen(piece);
	}
	if (outlen > 0)
		out[used] = '\0';
	return 0;
}

/* cluster.nodes: a list of { id; address; } groups.  Ids and addresses
 * must be unique: two members sharing an id would be counted as one voter,
 * and two sharing an address cannot both listen on it. */
static int load_nodes(const struct loader *ld, const config_setting_t *cluster,
		      struct config *cfg)
{
	const config_setting_t *list =
	    config_setting_get_member(cluster, "nodes");
	int id_line[CONFIG_MAX_NODES];
	int addr_line[CONFIG_MAX_NODES];
	char key[64];
	char why[320];
	int n;

	if (list == NULL)
		return load_fail(ld, cluster, "cluster.nodes",
				 "missing; list the members as nodes = ( { id "
				 "= 1; address = \"HOST:PORT\"; }, ... );");
	if (config_setting_type(list) != CONFIG_TYPE_LIST)
		return load_fail(ld, list, "cluster.nodes",
				 "must be a list ( { id = 1; address = "
				 "\"HOST:PORT\"; }, ... ), not %s",
				 type_phrase(list));
	n = config_setting_length(list);
	if (n == 0)
		return load_fail(ld, list, "cluster.nodes",
				 "empty; at least one node is required");
	if (n > CONFIG_MAX_NODES)
		return load_fail(
		    ld, config_setting_get_elem(list, CONFIG_MAX_NODES),
		    "cluster.nodes", "%d nodes; at most %d are supported", n,
		    CONFIG_MAX_NODES);

	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);
		struct config_node *node = &cfg->nodes[i];
		const char *address;
		char prefix[32];
		bool found;

		snprintf(prefix, sizeof(prefix), "cluster.nodes[%d]", i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			return load_fail(ld, g, prefix,
					 "must be a group { id = N; address = "
					 "\"HOST:PORT\"; }, not %s",
					 type_phrase(g));
		if (check_known(ld, g, prefix, node_keys) != 0)
			return -1;
		node->line = (int)config_setting_source_line(g);

		if (get_int(ld, g, prefix, "id", 1, CONFIG_MAX_ID, &node->id,
			    &found) != 0)
			return -1;
		snprintf(key, sizeof(key), "%s.id", prefix);
		if (!found)
			return load_fail(ld, g, key,
					 "missing (every node needs a positive "
					 "integer id)");
		id_line[i] = (int)config_setting_source_line(
		    config_setting_get_member(g, "id"));

		if (get_string(ld, g, prefix, "address", &address) != 0)
			return -1;
		snprintf(key, sizeof(key), "%s.address", prefix);
		if (address == NULL)
			return load_fail(ld, g, key,
					 "missing (every node needs an address "
					 "\"HOST:PORT\")");
		addr_line[i] = (int)config_setting_source_line(
		    config_setting_get_member(g, "address"));
		if (addr_parse(address, node->host, sizeof(node->host),
			       &node->port, why, sizeof(why)) != 0)
			return load_fail(
			    ld, config_setting_get_member(g, "address"), key,
			    "bad address \"%.300s\": %s", address, why);
		addr_format(node->host, node->port, node->address,
			    sizeof(node->address));

		for (int j = 0; j < i; j++) {
			if (cfg->nodes[j].id == node->id) {
				snprintf(key, sizeof(key), "%s.id", prefix);
				return load_fail(
				    ld, config_setting_get_member(g, "id"), key,
				    "duplicate id %u (also at line %d)",
				    (unsigned)node->id, id_line[j]);
			}
			if (cfg->nodes[j].port == node->port &&
			    strcasecmp(cfg->nodes[j].host, node->host) == 0)
				return load_fail(
				    ld, config_setting_get_member(g, "address"),
				    key,
				    "duplicate address %s (also at line "
				    "%d, node %u)",
				    node->address, addr_line[j],
				    (unsigned)cfg->nodes[j].id);
		}
		/* Peers talk on a listener of their own, so that no client
		 * connection can take their place (docs/DESIGN.md). */
		if (get_string(ld, g, prefix, "peer_address", &address) != 0)
			return -1;
		snprintf(key, sizeof(key), "%s.peer_address", prefix);
		if (address != NULL) {
			if (addr_parse(address, node->peer_host,
				       sizeof(node->peer_host),
				       &node->peer_port, why, sizeof(why)) != 0)
				return load_fail(ld,
						 config_setting_get_member(
						     g, "peer_address"),
						 key,
						 "bad address \"%.300s\": %s",
						 address, why);
		} else if ((unsigned)node->port + CONFIG_PEER_PORT_OFFSET >
			   65535) {
			return load_fail(
			    ld, g, key,
			    "missing, and its default (the address's port + "
			    "%u = %u) is not a port: set it",
			    CONFIG_PEER_PORT_OFFSET,
			    (unsigned)node->port + CONFIG_PEER_PORT_OFFSET);
		} else {
			strcpy(node->peer_host, node->host);
			node->peer_port =
			    (uint16_t)(node->port + CONFIG_PEER_PORT_OFFSET);
		}
		addr_format(node->peer_host, node->peer_port,
			    node->peer_address, sizeof(node->peer_address));

		if (node->peer_port == node->port &&
		    strcasecmp(node->peer_host, node->host) == 0)
			return load_fail(ld, g, key,
					 "the same as the node's address %s",
					 node->address);
		for (int j = 0; j < i; j++) {
			const struct config_node *o = &cfg->nodes[j];
			if ((o->peer_port == node->port &&
			     strcasecmp(o->peer_host, node->host) == 0) ||
			    (o->port == node->peer_port &&
			     strcasecmp(o->host, node->peer_host) == 0) ||
			    (o->peer_port == node->peer_port &&
			     strcasecmp(o->peer_host, node->peer_host) == 0))
				return load_fail(
				    ld, g, prefix,
				    "its address or peer address %s / %s is "
				    "also node %u's (line %d)",
				    node->address, node->peer_address,
				    (unsigned)o->id, o->line);
		}
		cfg->n_nodes++;
	}
	return 0;
}

static int load_cluster(const struct loader *ld, const config_setting_t *root,
			struct config *cfg)
{
	const config_setting_t *cluster =
	    config_setting_get_member(root, "cluster");
	const char *secret;

	if (cluster == NULL)
		return load_fail(ld, NULL, "cluster",
				 "missing; the file must define cluster = { "
				 "nodes = ( { id = 1; address = \"HOST:PORT\"; "
				 "}, ... ); };");
	if (config_setting_type(cluster) != CONFIG_TYPE_GROUP)
		return load_fail(ld, cluster, "cluster",
				 "must be a group { nodes = (...); }, not %s",
				 type_phrase(cluster));
	if (check_known(ld, cluster, "cluster", cluster_keys) != 0)
		return -1;
	if (load_nodes(ld, cluster, cfg) != 0)
		return -1;

	if (get_string(ld, cluster, "cluster", "secret", &secret) != 0)
		return -1;
	if (secret != NULL) {
		const config_setting_t *s =
		    config_setting_get_member(cluster, "secret");
		size_t len = strlen(secret);

		/* Never echo the secret itself into a log line. */
		if (len == 0 || len > CONFIG_MAX_SECRET)
			return load_fail(ld, s, "cluster.secret",
					 "is %zu bytes; it must be 1 to %d "
					 "printable ASCII characters (leave "
					 "it out for no secret)",
					 len, CONFIG_MAX_SECRET);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)secret[i] < 0x21 ||
			    (unsigned char)secret[i] > 0x7e)
				return load_fail(ld, s, "cluster.secret",
						 "character %zu is not "
						 "printable ASCII (spaces and "
						 "control characters are not "
						 "allowed)",
						 i + 1);
		memcpy(cfg->secret, secret, len + 1);
		cfg->has_secret = true;
	}
	return 0;
}

/* Peers authenticate by default (docs/API.md, "Peer methods"): a cluster
 * of more than one node without a secret is a cluster anyone who can
 * reach a port can take over, so it must be asked for by name. */
static int load_security(const struct loader *ld, const config_setting_t *root,
			 struct config *cfg)
{
	const config_setting_t *s = config_setting_get_member(root, "insecure");

	if (get_bool(ld, root, NULL, "insecure", &cfg->insecure) != 0)
		return -1;
	if (cfg->insecure && cfg->has_secret)
		return load_fail(ld, s, "insecure",
				 "is true but cluster.secret is set; remove "
				 "one of them");
	if (cfg->n_nodes > 1 && !cfg->has_secret && !cfg->insecure)
		return load_fail(ld, config_setting_get_member(root, "cluster"),
				 "cluster.secret",
				 "missing: a cluster of %zu nodes needs a "
				 "shared secret for its peers (e.g. the output "
				 "of `head -c 32 /dev/urandom | base64`), or "
				 "`insecure = true;` to run without one on a "
				 "trusted network",
				 cfg->n_nodes);
	return 0;
}

static int load_data_dir(const struct loader *ld, const config_setting_t *root,
			 struct config *cfg)
{
	const config_setting_t *s = config_setting_get_member(root, "data_dir");
	const char *dir;
	char expanded[CONFIG_PATH_MAX];
	char why[160];

	if (get_string(ld, root, NULL, "data_dir", &dir) != 0)
		return -1;
	if (dir == NULL)
		return 0;
	if (dir[0] == '\0')
		return load_fail(ld, s, "data_dir", "must not be empty");
	if (strlen(dir) >= sizeof(cfg->data_dir))
		return load_fail(ld, s, "data_dir", "longer than %zu bytes",
				 sizeof(cfg->data_dir) - 1);
	/* Expand for every member now, so a bad template fails at load time
	 * on every node rather than only on the one it is run as. */
	for (size_t i = 0; i < cfg->n_nodes; i++)
		if (expand_data_dir(dir, cfg->nodes[i].id, expanded,
				    sizeof(expanded), why, sizeof(why)) != 0)
			return load_fail(ld, s, "data_dir", "%s", why);
	strcpy(cfg->data_dir, dir);
	return 0;
}

/* tls_cert, tls_key (templates like data_dir: %i is the node id) and
 * tls_ca: all three or none (docs/DESIGN.md, "TLS"). */
static int load_tls(const struct loader *ld, const config_setting_t *root,
		    struct config *cfg)
{
	static const char *const keys[] = {"tls_cert", "tls_key", "tls_ca"};
	char *dst[] = {cfg->tls_cert, cfg->tls_key, cfg->tls_ca};
	char expanded[CONFIG_PATH_MAX], why[160];
	const char *v;
	int set = 0;

	for (size_t k = 0; k < 3; k++) {
		const config_setting_t *s =
		    config_setting_get_member(root, keys[k]);
		if (get_string(ld, root, NULL, keys[k], &v) != 0)
			return -1;
		if (v == NULL)
			continue;
		if (v[0] == '\0' || strlen(v) >= CONFIG_PATH_MAX)
			return load_fail(ld, s, keys[k],
					 "must be a path of 1 to %d bytes",
					 CONFIG_PATH_MAX - 1);
		for (size_t i = 0; i < cfg->n_nodes; i++)
			if (expand_data_dir(v, cfg->nodes[i].id, expanded,
					    sizeof(expanded), why,
					    sizeof(why)) != 0)
				return load_fail(ld, s, keys[k], "%s", why);
		strcpy(dst[k], v);
		set++;
	}
	if (set != 0 && set != 3)
		return load_fail(ld, NULL,
				 cfg->tls_cert[0] ? "tls_key" : "tls_cert",
				 "tls_cert, tls_key and tls_ca go together "
				 "(TLS needs this node's certificate, its key, "
				 "and the CA that signs every node's)");
	cfg->tls = set == 3;
	return 0;
}

/* console = "on" | "readonly" | "off" (default "on"). */
static int load_console(const struct loader *ld, const config_setting_t *root,
			struct config *cfg)
{
	static const char *const modes[] = {"on", "readonly", "off"};
	const char *v;

	if (get_string(ld, root, NULL, "console", &v) != 0)
		return -1;
	if (v == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(v, modes[i]) == 0) {
			cfg->console = (enum config_console)i;
			return 0;
		}
	return load_fail(
	    ld, config_setting_get_member(root, "console"), "console",
	    "must be \"on\", \"readonly\" or \"off\", not \"%.64s\"", v);
}

static int load_timeouts(const struct loader *ld, const config_setting_t *root,
			 struct config *cfg)
{
	const config_setting_t *election =
	    config_setting_get_member(root, "election_timeout_ms");
	const config_setting_t *min_s = NULL;
	bool found;
	bool hb_found;

	if (election != NULL) {
		if (config_setting_type(election) != CONFIG_TYPE_GROUP)
			return load_fail(ld, election, "election_timeout_ms",
					 "must be a group { min = %d; max = "
					 "%d; }, not %s",
					 CONFIG_DEFAULT_ELECTION_MIN_MS,
					 CONFIG_DEFAULT_ELECTION_MAX_MS,
					 type_phrase(election));
		if (check_known(ld, election, "election_timeout_ms",
				election_keys) != 0)
			return -1;
		if (get_int(ld, election, "election_timeout_ms", "min",
			    CONFIG_MIN_ELECTION_MS, CONFIG_MAX_TIMEOUT_MS,
			    &cfg->election_min_ms, &found) != 0)
			return -1;
		if (found)
			min_s = config_setting_get_member(election, "min");
		if (get_int(ld, election, "election_timeout_ms", "max",
			    CONFIG_MIN_ELECTION_MS, CONFIG_MAX_TIMEOUT_MS,
			    &cfg->election_max_ms, &found) != 0)
			return -1;
		if (cfg->election_min_ms > cfg->election_max_ms)
			return load_fail(
			    ld,
			    found ? config_setting_get_member(election, "max")
				  : min_s,
			    found ? "election_timeout_ms.max"
				  : "election_timeout_ms.min",
			    "election_timeout_ms.min (%u%s) must not "
			    "exceed election_timeout_ms.max (%u%s)",
			    (unsigned)cfg->election_min_ms,
			    min_s == NULL ? ", the default" : "",
			    (unsigned)cfg->election_max_ms,
			    found ? "" : ", the default");
	}

	if (get_int(ld, root, NULL, "heartbeat_ms", 1, CONFIG_MAX_TIMEOUT_MS,
		    &cfg->heartbeat_ms, &hb_found) != 0)
		return -1;
	/* Followers must hear from the leader well within the shortest
	 * election timeout, or they start elections against a live leader
	 * (Raft §5.2: broadcastTime << electionTimeout). */
	if ((uint64_t)cfg->heartbeat_ms * 2 > cfg->election_min_ms)
		return load_fail(
		    ld,
		    hb_found ? config_setting_get_member(root, "heartbeat_ms")
			     : min_s,
		    hb_found ? "heartbeat_ms" : "election_timeout_ms.min",
		    "heartbeat_ms (%u%s) must be at most half of "
		    "election_timeout_ms.min (%u%s)",
		    (unsigned)cfg->heartbeat_ms,
		    hb_found ? "" : ", the default",
		    (unsigned)cfg->election_min_ms,
		    min_s != NULL ? "" : ", the default");

	if (get_int(ld, root, NULL, "request_timeout_ms", 1,
		    CONFIG_MAX_REQUEST_TIMEOUT_MS, &cfg->request_timeout_ms,
		    &found) != 0)
		return -1;
	if (get_int(ld, root, NULL, "max_inflight", 1, CONFIG_MAX_INFLIGHT,
		    &cfg->max_inflight, &found) != 0)
		return -1;
	if (get_int(ld, root, NULL, "http_threads", 0, CONFIG_MAX_HTTP_THREADS,
		    &cfg->http_threads, &found) != 0)
		return -1;
	if (get_int(ld, root, NULL, "max_connections", 16,
		    CONFIG_MAX_CONNECTIONS, &cfg->max_connections, &found) != 0)
		return -1;
	if (get_int(ld, root, NULL, "max_connections_per_ip", 0,
		    CONFIG_MAX_CONNECTIONS, &cfg->max_connections_per_ip,
		    &found) != 0)
		return -1;
	if (get_int(ld, root, NULL, "connection_timeout_s", 1, 3600,
		    &cfg->connection_timeout_s, &found) != 0)
		return -1;
	if (get_int(ld, root, NULL, "snapshot_entries", 0,
		    CONFIG_MAX_SNAPSHOT_ENTRIES, &cfg->snapshot_entries,
		    &found) != 0)
		return -1;
	if (get_int(ld, root, NULL, "snapshot_trailing", 0,
		    CONFIG_MAX_SNAPSHOT_ENTRIES, &cfg->snapshot_trailing,
		    &found) != 0)
		return -1;
	return 0;
}

/* Report why the file cannot be read, with strerror: libconfig only says
 * "file I/O error" and leaves errno at 0 for a directory. */
static int check_readable(const struct loader *ld)
{
	struct stat st;
	FILE *fp = fopen(ld->path, "r");
	int rv = -1;

	if (fp == NULL) {
		set_err(ld->err, ld->errlen, "%s: cannot open: %s", ld->path,
			strerror(errno));
		goto out;
	}
	if (fstat(fileno(fp), &st) != 0) {
		set_err(ld->err, ld->errlen, "%s: cannot stat: %s", ld->path,
			strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		set_err(ld->err, ld->errlen, "%s: cannot read: %s", ld->path,
			strerror(EISDIR));
		goto out;
	}
	rv = 0;
out:
	if (fp != NULL)
		fclose(fp);
	return rv;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct loader ld = {.path = path, .err = err, .errlen = errlen};
	const config_setting_t *root;
	config_t lc;
	bool lc_live = false;
	int rv = -1;

	memset(cfg, 0, sizeof(*cfg));
	set_err(err, errlen, "no error");
	if (strlen(path) >= sizeof(cfg->path)) {
		set_err(err, errlen, "%.64s...: config path too long", path);
		goto out;
	}
	strcpy(cfg->path, path);
	strcpy(cfg->data_dir, CONFIG_DEFAULT_DATA_DIR);
	cfg->election_min_ms = CONFIG_DEFAULT_ELECTION_MIN_MS;
	cfg->election_max_ms = CONFIG_DEFAULT_ELECTION_MAX_MS;
	cfg->heartbeat_ms = CONFIG_DEFAULT_HEARTBEAT_MS;
	cfg->request_timeout_ms = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
	cfg->max_inflight = CONFIG_DEFAULT_MAX_INFLIGHT;
	cfg->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
	cfg->connection_timeout_s = CONFIG_DEFAULT_CONNECTION_TIMEOUT_S;
	cfg->snapshot_entries = CONFIG_DEFAULT_SNAPSHOT_ENTRIES;
	cfg->snapshot_trailing = CONFIG_DEFAULT_SNAPSHOT_TRAILING;

	if (check_readable(&ld) != 0)
		goto out;
	config_init(&lc);
	lc_live = true;
	errno = 0;
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			set_err(err, errlen, "%s: cannot read: %s",
				config_error_file(&lc) != NULL
				    ? config_error_file(&lc)
				    : path,
				errno != 0 ? strerror(errno)
					   : config_error_text(&lc));
		else
			set_err(err, errlen, "%s:%d: %s",
				config_error_file(&lc) != NULL
				    ? config_error_file(&lc)
				    : path,
				config_error_line(&lc), config_error_text(&lc));
		goto out;
	}
	root = config_root_setting(&lc);

	if (check_known(&ld, root, NULL, root_keys) != 0)
		goto out;
	if (load_cluster(&ld, root, cfg) != 0)
		goto out;
	if (load_security(&ld, root, cfg) != 0)
		goto out;
	if (load_tls(&ld, root, cfg) != 0)
		goto out;
	if (load_data_dir(&ld, root, cfg) != 0)
		goto out;
	if (load_timeouts(&ld, root, cfg) != 0)
		goto out;
	if (load_console(&ld, root, cfg) != 0)
		goto out;
	rv = 0;
	set_err(err, errlen, "ok");
out:
	if (lc_live)
		config_destroy(&lc);
	if (rv != 0)
		memset(cfg, 0, sizeof(*cfg)); /* no half-loaded config */
	return rv;
}

const struct config_node *config_node_by_id(const struct config *cfg,
					    uint32_t id)
{
	for (size_t i = 0; i < cfg->n_nodes; i++)
		if (cfg->nodes[i].id == id)
			return &cfg->nodes[i];
	return NULL;
}

const struct config_node *config_node_by_address(const struct config *cfg,
						 const char *text, char *err,
						 size_t errlen)
{
	const struct config_node *match = NULL;
	char buf[CONFIG_ADDRESS_MAX];
	char host[CONFIG_HOST_MAX];
	char why[320];
	char ids[CONFIG_MAX_NODES * 12] = "";
	size_t start = 0;
	size_t end = strlen(text);
	size_t colons = 0;
	size_t n_match = 0;
	uint16_t port = 0;
	bool with_port;

	while (start < end && strchr(" \t\r\n", text[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\r\n", text[end - 1]) != NULL)
		end--;
	if (end - start >= sizeof(buf)) {
		set_err(err, errlen, "address \"%.40s...\" is too long",
			text + start);
		return NULL;
	}
	memcpy(buf, text + start, end - start);
	buf[end - start] = '\0';
	for (const char *p = buf; *p != '\0'; p++)
		colons += *p == ':';

	/* "[v6]:port" and "host:port" carry a port; a bare IPv6 address has
	 * several colons and no brackets. */
	if (buf[0] == '[')
		with_port = strstr(buf, "]:") != NULL;
	else
		with_port = colons == 1;

	if (with_port) {
		if (addr_parse(buf, host, sizeof(host), &port, why,
			       sizeof(why)) != 0) {
			set_err(err, errlen, "bad address \"%s\": %s", buf,
				why);
			return NULL;
		}
	} else {
		char *h = buf;
		size_t len = strlen(buf);

		if (len >= 2 && buf[0] == '[' && buf[len - 1] == ']') {
			buf[len - 1] = '\0';
			h = buf + 1;
		}
		if (addr_check_host(h, host, sizeof(host), why, sizeof(why)) !=
		    0) {
			set_err(err, errlen, "bad address \"%s\": %s", buf,
				why);
			return NULL;
		}
	}

	for (size_t i = 0; i < cfg->n_nodes; i++) {
		const struct config_node *node = &cfg->nodes[i];
		size_t used = strlen(ids);

		if (strcasecmp(node->host, host) != 0 ||
		    (with_port && node->port != port))
			continue;
		match = node;
		n_match++;
		snprintf(ids + used, sizeof(ids) - used, "%s%u",
			 n_match > 1 ? ", " : "", (unsigned)node->id);
	}
	if (n_match == 0) {
		set_err(err, errlen, "address %s matches no node in %s",
			with_port ? buf : host, cfg->path);
		return NULL;
	}
	if (n_match > 1) {
		set_err(err, errlen,
			"address %s matches nodes %s in %s; give HOST:PORT or "
			"the node id",
			host, ids, cfg->path);
		return NULL;
	}
	return match;
}

int config_node_path(const char *tmpl, uint32_t id, char *out, size_t outlen,
		     char *err, size_t errlen)
{
	char why[160];

	if (expand_data_dir(tmpl, id, out, outlen, why, sizeof(why)) != 0) {
		set_err(err, errlen, "%s: %s", tmpl, why);
		return -1;
	}
	return 0;
}

int config_data_dir(const struct config *cfg, uint32_t id, char *out,
		    size_t outlen, char *err, size_t errlen)
{
	char why[160];

	if (expand_data_dir(cfg->data_dir, id, out, outlen, why, sizeof(why)) !=
	    0) {
		set_err(err, errlen, "%s: data_dir \"%s\": %s", cfg->path,
			cfg->data_dir, why);
		return -1;
	}
	return 0;
}

int config_node_make(uint32_t id, const char *address, const char *peer_address,
		     struct config_node *out, char *err, size_t errlen)
{
	char why[320];

	memset(out, 0, sizeof(*out));
	out->id = id;
	if (id < 1 || id > CONFIG_MAX_ID) {
		set_err(err, errlen, "node id %u: must be 1..%d", id,
			CONFIG_MAX_ID);
		return -1;
	}
	if (addr_parse(address, out->host, sizeof(out->host), &out->port, why,
		       sizeof(why)) != 0) {
		set_err(err, errlen, "address \"%s\": %s", address, why);
		return -1;
	}
	addr_format(out->host, out->port, out->address, sizeof(out->address));
	if (peer_address != NULL && peer_address[0] != '\0') {
		if (addr_parse(peer_address, out->peer_host,
			       sizeof(out->peer_host), &out->peer_port, why,
			       sizeof(why)) != 0) {
			set_err(err, errlen, "peer address \"%s\": %s",
				peer_address, why);
			return -1;
		}
	} else if ((unsigned)out->port + CONFIG_PEER_PORT_OFFSET > 65535) {
		set_err(err, errlen,
			"address %s: its port + %u is not a port; give the "
			"peer address",
			out->address, CONFIG_PEER_PORT_OFFSET);
		return -1;
	} else {
		snprintf(out->peer_host, sizeof(out->peer_host), "%s",
			 out->host);
		out->peer_port =
		    (uint16_t)(out->port + CONFIG_PEER_PORT_OFFSET);
	}
	addr_format(out->peer_host, out->peer_port, out->peer_address,
		    sizeof(out->peer_address));
	if (out->peer_port == out->port &&
	    strcasecmp(out->peer_host, out->host) == 0) {
		set_err(err, errlen, "the peer address is the address %s",
			out->address);
		return -1;
	}
	return 0;
}

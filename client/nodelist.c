/* nodelist.c: the nodes raftctl talks to (from -s, -c or the environment)
 * and the parsing of NOT_LEADER hints. */
#include "nodelist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "api.h"
#include "config.h"
#include "util.h"

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

int nodelist_check_address(const char *addr, char *err, size_t errlen)
{
	char host[ADDR_HOST_MAX], why[160];
	uint16_t port;

	if (strlen(addr) >= NODELIST_ADDR_MAX) {
		set_err(err, errlen, "address too long: %.40s...", addr);
		return NODELIST_EINVAL;
	}
	if (addr_parse(addr, host, sizeof(host), &port, why, sizeof(why)) !=
	    0) {
		set_err(err, errlen, "bad address '%s': %s", addr, why);
		return NODELIST_EINVAL;
	}
	return NODELIST_OK;
}

int nodelist_find_address(const struct nodelist *nl, const char *addr)
{
	for (size_t i = 0; i < nl->n; i++)
		if (strcmp(nl->nodes[i].address, addr) == 0)
			return (int)i;
	return -1;
}

int nodelist_find_id(const struct nodelist *nl, uint32_t id)
{
	for (size_t i = 0; i < nl->n; i++)
		if (nl->nodes[i].id == id)
			return (int)i;
	return -1;
}

int nodelist_add(struct nodelist *nl, uint32_t id, const char *addr,
		 size_t *pos)
{
	int i = nodelist_find_address(nl, addr);

	if (i >= 0) {
		*pos = (size_t)i;
		return NODELIST_OK;
	}
	if (nodelist_check_address(addr, NULL, 0) < 0)
		return NODELIST_EINVAL;
	if (nl->n >= NODELIST_MAX)
		return NODELIST_EFULL;
	nl->nodes[nl->n].id = id;
	snprintf(nl->nodes[nl->n].address, sizeof(nl->nodes[nl->n].address),
		 "%s", addr);
	*pos = nl->n++;
	return NODELIST_OK;
}

int nodelist_parse_servers(const char *spec, struct nodelist *out, char *err,
			   size_t errlen)
{
	char *copy = xstrdup(spec);
	char *item, *cursor = copy;
	int rv = NODELIST_EINVAL;

	memset(out, 0, sizeof(*out));
	/* strtok_r would skip empty items silently; a stray comma is more
	 * likely a typo, so split by hand. */
	for (;;) {
		char *comma = strchr(cursor, ',');

		if (comma)
			*comma = '\0';
		item = cursor;
		if (*item == '\0') {
			set_err(err, errlen,
				"-s: empty item in the server list '%s'", spec);
			goto out;
		}
		if (nodelist_check_address(item, err, errlen) < 0)
			goto out;
		if (nodelist_find_address(out, item) >= 0) {
			set_err(err, errlen, "-s: %s is listed twice", item);
			goto out;
		}
		if (out->n >= NODELIST_MAX) {
			set_err(err, errlen, "-s: more than %d servers",
				NODELIST_MAX);
			rv = NODELIST_EFULL;
			goto out;
		}
		out->nodes[out->n].id = (uint32_t)(out->n + 1);
		snprintf(out->nodes[out->n].address,
			 sizeof(out->nodes[out->n].address), "%s", item);
		out->n++;
		if (comma == NULL)
			break;
		cursor = comma + 1;
	}
	rv = NODELIST_OK;
out:
	free(copy);
	return rv;
}

int nodelist_from_config(const char *path, struct nodelist *out, char *err,
			 size_t errlen)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	int rv = NODELIST_ECONFIG;

	memset(out, 0, sizeof(*out));
	if (config_load(path, cfg, err, errlen) < 0)
		goto out;
	if (cfg->n_nodes > NODELIST_MAX) {
		set_err(err, errlen, "%s: more than %d nodes", path,
			NODELIST_MAX);
		goto out;
	}
	for (size_t i = 0; i < cfg->n_nodes; i++) {
		out->nodes[i].id = cfg->nodes[i].id;
		snprintf(out->nodes[i].address, sizeof(out->nodes[i].address),
			 "%s", cfg->nodes[i].address);
	}
	out->n = cfg->n_nodes;
	out->request_timeout_ms = cfg->request_timeout_ms;
	if (cfg->tls)
		snprintf(out->tls_ca, sizeof(out->tls_ca), "%s", cfg->tls_ca);
	rv = NODELIST_OK;
out:
	free(cfg);
	return rv;
}

int nodelist_parse_hint(const char *fault, uint32_t *id, char *addr,
			size_t addrlen)
{
	int rv = api_parse_hint(fault, id, addr, addrlen);

	return rv < 0 ? NODELIST_EINVAL : rv;
}

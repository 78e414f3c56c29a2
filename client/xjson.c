/* xjson.c: any XML-RPC value written as JSON (xjson.h). */
#include "xjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define XJSON_MAX_DEPTH 32

static void write_value(FILE *out, xmlrpc_value *v, int depth);

static void write_base64(FILE *out, const unsigned char *p, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				  "opqrstuvwxyz0123456789+/";

	fputc('"', out);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			w |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			w |= p[i + 2];
		fputc(tab[(w >> 18) & 63], out);
		fputc(tab[(w >> 12) & 63], out);
		fputc(i + 1 < len ? tab[(w >> 6) & 63] : '=', out);
		fputc(i + 2 < len ? tab[w & 63] : '=', out);
	}
	fputc('"', out);
}

static void write_members(FILE *out, xmlrpc_value *s, int depth, bool first,
			  const char *rename_from, const char *rename_to)
{
	xmlrpc_env env;
	int n;

	xmlrpc_env_init(&env);
	n = xmlrpc_struct_size(&env, s);
	for (int i = 0; i < n && !env.fault_occurred; i++) {
		xmlrpc_value *k = NULL, *m = NULL;
		const char *key = NULL;

		xmlrpc_struct_read_member(&env, s, (unsigned)i, &k, &m);
		if (env.fault_occurred)
			break;
		xmlrpc_read_string(&env, k, &key);
		if (!env.fault_occurred) {
			if (!first)
				fputs(", ", out);
			first = false;
			if (rename_from && strcmp(key, rename_from) == 0)
				util_json_string(out, rename_to);
			else
				util_json_string(out, key);
			fputs(": ", out);
			write_value(out, m, depth + 1);
			free((void *)key);
		}
		xmlrpc_DECREF(k);
		xmlrpc_DECREF(m);
	}
	xmlrpc_env_clean(&env);
}

static void write_value(FILE *out, xmlrpc_value *v, int depth)
{
	xmlrpc_env env;

	if (depth > XJSON_MAX_DEPTH) {
		fputs("null", out);
		return;
	}
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT: {
		int i = 0;
		xmlrpc_read_int(&env, v, &i);
		fprintf(out, "%d", i);
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i = 0;
		xmlrpc_read_i8(&env, v, &i);
		fprintf(out, "%" PRId64, (int64_t)i);
		break;
	}
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool b = 0;
		xmlrpc_read_bool(&env, v, &b);
		fputs(b ? "true" : "false", out);
		break;
	}
	case XMLRPC_TYPE_DOUBLE: {
		double d = 0;
		xmlrpc_read_double(&env, v, &d);
		if (isfinite(d))
			fprintf(out, "%.17g", d);
		else
			fputs("null", out);
		break;
	}
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		util_json_string(out, env.fault_occurred ? "" : s);
		free((void *)s);
		break;
	}
	case XMLRPC_TYPE_DATETIME: {
		const char *s = NULL;
		xmlrpc_read_datetime_str(&env, v, &s);
		util_json_string(out, env.fault_occurred ? "" : s);
		free((void *)s);
		break;
	}
	case XMLRPC_TYPE_BASE64: {
		const unsigned char *p = NULL;
		size_t len = 0;
		xmlrpc_read_base64(&env, v, &len, &p);
		write_base64(out, env.fault_occurred ? NULL : p,
			     env.fault_occurred ? 0 : len);
		free((void *)p);
		break;
	}
	case XMLRPC_TYPE_ARRAY: {
		int n = xmlrpc_array_size(&env, v);
		fputc('[', out);
		for (int i = 0; i < n && !env.fault_occurred; i++) {
			xmlrpc_value *item = NULL;
			xmlrpc_array_read_item(&env, v, i, &item);
			if (env.fault_occurred)
				break;
			if (i > 0)
				fputs(", ", out);
			write_value(out, item, depth + 1);
			xmlrpc_DECREF(item);
		}
		fputc(']', out);
		break;
	}
	case XMLRPC_TYPE_STRUCT:
		fputc('{', out);
		write_members(out, v, depth, true, NULL, NULL);
		fputc('}', out);
		break;
	default: /* nil, and types this client never gets */
		fputs("null", out);
		break;
	}
	xmlrpc_env_clean(&env);
}

void xjson_write(FILE *out, xmlrpc_value *v) { write_value(out, v, 0); }

void xjson_write_members(FILE *out, xmlrpc_value *s, const char *rename_from,
			 const char *rename_to)
{
	if (xmlrpc_value_type(s) != XMLRPC_TYPE_STRUCT)
		return;
	write_members(out, s, 0, false, rename_from, rename_to);
}

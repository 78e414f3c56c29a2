/* xjson.h: any XML-RPC value written as JSON (raftctl's --json output of
 * answers whose members it does not know one by one, e.g. status()). */
#ifndef RAFTCTL_XJSON_H
#define RAFTCTL_XJSON_H

#include <stdio.h>

#include <xmlrpc-c/base.h>

/* Writes `v` (only read) as one JSON value: int, i8 and double as
 * numbers, boolean as true/false, string as a string, array as an array,
 * struct as an object (members in the answer's order), nil as null,
 * base64 as a string of base64, dateTime as its ISO 8601 string.  Nesting
 * deeper than 32 levels is written as null (a hostile answer cannot
 * exhaust the stack). */
void xjson_write(FILE *out, xmlrpc_value *v);

/* Writes the members of struct `s` as `"key": value` pairs, each
 * preceded by ", " — to extend an object already begun.  A member named
 * `rename_from` is written under `rename_to` (both may be NULL). */
void xjson_write_members(FILE *out, xmlrpc_value *s, const char *rename_from,
			 const char *rename_to);

#endif /* RAFTCTL_XJSON_H */

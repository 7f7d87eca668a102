// SPDX-License-Identifier: GPL-2.0
/*
 * An event as one line of JSON, written straight into a buffer.
 *
 * "mpmuctl -j events" lists tens of thousands of events; through json-c
 * objects each one cost about 21,000 instructions (an object, its members,
 * then serialising them), six times what reading it from the kernel costs.
 * This writer is the only place that says how an event looks in JSON:
 * mpmuctl streams its output for -j, and builds json-c objects from it
 * (json_tokener_parse()) for every other use.
 * Its output is byte for byte what json-c prints for the same object with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE; the unit tests
 * hold it to that for every byte a name can contain.
 */
#include <inttypes.h>
#include <string.h>

#include "mpmu.h"

static char *put(char *p, const char *s)
{
	size_t len = strlen(s);

	memcpy(p, s, len);
	return p + len;
}

static char *put_u64(char *p, uint64_t v)
{
	char digits[20];
	int n = 0;

	do
		digits[n++] = '0' + v % 10;
	while (v /= 10);
	while (n)
		*p++ = digits[--n];
	return p;
}

static char *put_i64(char *p, int64_t v)
{
	if (v >= 0)
		return put_u64(p, v);
	*p++ = '-';
	return put_u64(p, -(uint64_t)v);
}

static char *put_bool(char *p, bool v)
{
	return put(p, v ? "true" : "false");
}

/* json-c's escaping: \b \t \n \f \r " \\ by name, other controls as \u00xx. */
static char *put_quoted(char *p, const char *s, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	static const char named[0x20] = {
		['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
	};
	const char *end = memchr(s, '\0', size);

	*p++ = '"';
	for (; s < end; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = c;
		} else if (c >= 0x20) {
			*p++ = c;
		} else if (named[c]) {
			*p++ = '\\';
			*p++ = named[c];
		} else {
			p = put(p, "\\u00");
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0xf];
		}
	}
	*p++ = '"';
	return p;
}

size_t mpmu_event_json(char buf[MPMU_EVENT_JSON_MAX], const struct mpmu_event *e)
{
	char name[MPMU_EVENT_NAME_LEN], *p = buf;

	p = put(p, "{\"owner_pid\":");
	p = e->owner_pid ? put_i64(p, e->owner_pid) : put(p, "null");
	p = put(p, ",\"owner_comm\":");
	p = put_quoted(p, e->owner_comm, sizeof(e->owner_comm));
	p = put(p, ",\"owner_start\":");
	p = e->owner_start_known ? put_u64(p, e->owner_start) : put(p, "null");
	p = put(p, ",\"owner_gone\":");
	p = put_bool(p, e->owner_gone);
	p = put(p, ",\"kernel\":");
	p = put_bool(p, e->kernel);
	p = put(p, ",\"cpu\":");
	p = put_i64(p, e->cpu);
	p = put(p, ",\"target_pid\":");
	p = put_i64(p, e->target_pid);
	p = put(p, ",\"pmu\":");
	p = put_quoted(p, e->pmu, sizeof(e->pmu));
	p = put(p, ",\"type\":");
	p = put_u64(p, e->type);
	p = put(p, ",\"config\":");
	p = put_u64(p, e->config);
	p = put(p, ",\"event\":");
	mpmu_event_name(e, name, sizeof(name));
	p = put_quoted(p, name, sizeof(name));
	p = put(p, ",\"pinned\":");
	p = put_bool(p, e->pinned);
	*p++ = '}';
	*p = '\0';
	return p - buf;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * One print path: every verb builds json-c objects; with -j they are
 * printed as JSON, otherwise rendered as "label: value" lines or an aligned
 * table from the same objects and a list of columns.
 */
#include <stdio.h>
#include <string.h>

#include "mpmuctl.h"

const char *out_color(const char *code)
{
	return g.color ? code : "";
}

void out_json(json_object *obj)
{
	int flags = g.pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
			       JSON_C_TO_STRING_PLAIN;

	puts(json_object_to_json_string_ext(obj, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

/* A value as a person reads it: arrays joined, null as "-". */
static void value_str(json_object *v, char *buf, size_t size)
{
	size_t i, len = 0;

	switch (json_object_get_type(v)) {
	case json_type_null:
		snprintf(buf, size, "-");
		break;
	case json_type_boolean:
		snprintf(buf, size, "%s", json_object_get_boolean(v) ? "yes" : "no");
		break;
	case json_type_array:
		buf[0] = '\0';
		for (i = 0; i < json_object_array_length(v) && len < size; i++)
			len += snprintf(buf + len, size - len, "%s%s", i ? " " : "",
					json_object_get_string(json_object_array_get_idx(v, i)));
		if (!i)
			snprintf(buf, size, "-");
		break;
	default:
		snprintf(buf, size, "%s", json_object_get_string(v));
	}
}

/* The column where out_object() puts values: after the longest label. */
int out_label_width(const struct out_col *fields)
{
	size_t width = 0;

	for (; fields->key; fields++)
		if (strlen(fields->head) > width)
			width = strlen(fields->head);
	return (int)width + 1;
}

void out_object(json_object *obj, const struct out_col *fields)
{
	int width = out_label_width(fields);
	const struct out_col *f;
	char buf[256];

	if (g.json) {
		out_json(obj);
		return;
	}
	for (f = fields; f->key; f++) {
		value_str(json_object_object_get(obj, f->key), buf, sizeof(buf));
		printf("%-*s %s\n", width, f->head, buf);
	}
}

void out_table(json_object *rows, const struct out_col *cols)
{
	size_t nrows = json_object_array_length(rows), ncols = 0, r, c;
	size_t width[16] = { 0 };
	char buf[256];

	if (g.json) {
		out_json(rows);
		return;
	}
	for (c = 0; cols[c].key && c < 16; c++, ncols++)
		width[c] = strlen(cols[c].head);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++) {
			value_str(json_object_object_get(json_object_array_get_idx(rows, r),
							 cols[c].key), buf, sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
		}
	printf("%s", out_color("\033[1m"));
	for (c = 0; c < ncols; c++)
		printf(c + 1 < ncols ? "%-*s  " : "%.*s%s", (int)width[c], cols[c].head, "");
	printf("%s\n", out_color("\033[0m"));
	for (r = 0; r < nrows; r++) {
		for (c = 0; c < ncols; c++) {
			value_str(json_object_object_get(json_object_array_get_idx(rows, r),
							 cols[c].key), buf, sizeof(buf));
			printf(c + 1 < ncols ? "%-*s  " : "%.*s%s", (int)width[c], buf, "");
		}
		printf("\n");
	}
}

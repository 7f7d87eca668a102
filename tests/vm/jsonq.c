// SPDX-License-Identifier: GPL-2.0
/*
 * jsonq: read one JSON document on stdin (json-c, as mpmuctl writes it) and
 * print the value at PATH, so that guest tests compare parsed JSON, not text.
 *
 *   jsonq .key.sub   jsonq .[2].pid   jsonq '.#' (length of an array)
 * Prints "null" for null, nothing and exit 1 when the path does not exist.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	json_object *v;
	char *path, *tok, *save = NULL;
	char buf[1 << 20];
	size_t len;

	if (argc != 2 || argv[1][0] != '.')
		return fprintf(stderr, "usage: jsonq .PATH < json\n"), 2;
	len = fread(buf, 1, sizeof(buf) - 1, stdin);
	buf[len] = '\0';
	v = json_tokener_parse(buf);
	if (!v)
		return fprintf(stderr, "jsonq: not JSON\n"), 1;
	path = strdup(argv[1] + 1);
	for (tok = strtok_r(path, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (!strcmp(tok, "#")) {
			printf("%zu\n", json_object_array_length(v));
			return 0;
		}
		if (tok[0] == '[') {
			if (!json_object_is_type(v, json_type_array))
				return 1;
			v = json_object_array_get_idx(v, atoi(tok + 1));
		} else if (!json_object_object_get_ex(v, tok, &v)) {
			return 1;
		}
		if (!v && strtok_r(NULL, ".", &save))
			return 1;
	}
	puts(v ? json_object_get_string(v) : "null");
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Host tier: libmpmu's parsers and /run helpers, no kernel needed.  Built
 * with ASan and UBSan by make check.  Prints PASS/FAIL per test, then
 * "unit: N passed, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/mpmu.h"
#include "harness.h"

#define TEST(name) static void name(int *okp)

static int guest(const char *args, size_t len, char *name)
{
	return mpmu_parse_guest_name(args, len, name, MPMU_GUEST_NAME_LEN);
}

#define ARGS(s) s, sizeof(s) - 1

TEST(guest_name_from_libvirt_style_option)
{
	char name[MPMU_GUEST_NAME_LEN];

	CHECK(!guest(ARGS("qemu\0-name\0guest=web01,debug-threads=on\0-m\0512\0"), name));
	CHECK(!strcmp(name, "web01"));
}

TEST(guest_name_from_plain_option)
{
	char name[MPMU_GUEST_NAME_LEN];

	CHECK(!guest(ARGS("qemu\0-name\0db\0"), name));
	CHECK(!strcmp(name, "db"));
	CHECK(!guest(ARGS("qemu\0--name\0db2\0"), name));
	CHECK(!strcmp(name, "db2"));
}

TEST(guest_name_first_field_without_key)
{
	char name[MPMU_GUEST_NAME_LEN];

	/* Proxmox style: the implied key is guest. */
	CHECK(!guest(ARGS("kvm\0-name\0vm1,debug-threads=on\0"), name));
	CHECK(!strcmp(name, "vm1"));
	CHECK(!guest(ARGS("qemu\0-name\0process=x,guest=vm2\0"), name));
	CHECK(!strcmp(name, "vm2"));
}

TEST(guest_name_unescapes_double_commas)
{
	char name[MPMU_GUEST_NAME_LEN];

	CHECK(!guest(ARGS("qemu\0-name\0guest=a,,b,debug-threads=on\0"), name));
	CHECK(!strcmp(name, "a,b"));
}

TEST(guest_name_absent_or_malformed)
{
	char name[MPMU_GUEST_NAME_LEN];

	CHECK(guest(ARGS("qemu\0-m\0512\0"), name) == -ENOENT);
	CHECK(guest(ARGS("qemu\0-name\0"), name) == -ENOENT);	/* no value */
	CHECK(guest(ARGS("qemu\0-name\0debug-threads=on\0"), name) == -ENOENT);
	CHECK(guest(ARGS("qemu\0-name\0guest=\0"), name) == -ENOENT);
	CHECK(guest("qemu\0-name", 10, name) == -ENOENT);	/* truncated */
	CHECK(guest("", 0, name) == -ENOENT);
}

TEST(guest_name_too_long_is_refused)
{
	char args[400], name[MPMU_GUEST_NAME_LEN];
	int len;

	len = snprintf(args, sizeof(args), "qemu%c-name%cguest=", 0, 0);
	memset(args + len, 'x', 200);
	args[len + 200] = '\0';
	CHECK(guest(args, len + 201, name) == -ENAMETOOLONG);
}

static char *scratch_root(void)
{
	char tmpl[] = "/tmp/mpmu-unit-XXXXXX", path[256];
	char *root = strdup(mkdtemp(tmpl));

	snprintf(path, sizeof(path), "%s/proc/sys/kernel", root);
	mkdir(path, 0755);	/* parents below */
	return root;
}

static void write_file(const char *root, const char *rel, const char *text)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	if (system(cmd))
		return;
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(saved_watchdog_keeps_the_first_value)
{
	char *root = scratch_root();
	int v = -1;

	CHECK(mpmu_saved_watchdog_get(root, &v) == -ENOENT);
	CHECK(!mpmu_saved_watchdog_put(root, 1));
	CHECK(!mpmu_saved_watchdog_put(root, 0));
	CHECK(!mpmu_saved_watchdog_get(root, &v) && v == 1);
	CHECK(!mpmu_saved_watchdog_clear(root));
	CHECK(mpmu_saved_watchdog_get(root, &v) == -ENOENT);
	free(root);
}

TEST(nmi_watchdog_reads_and_rejects_junk)
{
	char *root = scratch_root();
	int v = -1;

	write_file(root, "/proc/sys/kernel/nmi_watchdog", "1\n");
	CHECK(!mpmu_nmi_watchdog_get(root, &v) && v == 1);
	CHECK(!mpmu_nmi_watchdog_set(root, 0));
	CHECK(!mpmu_nmi_watchdog_get(root, &v) && v == 0);
	write_file(root, "/proc/sys/kernel/nmi_watchdog", "yes\n");
	CHECK(mpmu_nmi_watchdog_get(root, &v) == -EINVAL);
	write_file(root, "/proc/sys/kernel/nmi_watchdog", "");
	CHECK(mpmu_nmi_watchdog_get(root, &v) == -EINVAL);
	write_file(root, "/proc/sys/kernel/nmi_watchdog", "99999999999999999999\n");
	CHECK(mpmu_nmi_watchdog_get(root, &v) == -EINVAL);
	free(root);
}

TEST(names_of_kinds_and_modes)
{

	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_VM_ACQUIRED), "vm_acquired"));
	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_VM_RELEASED), "vm_released"));
	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_VM_REJECTED), "vm_rejected"));
	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_EVENT_REJECTED), "event_rejected"));
	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_DRAINED), "drained"));
	CHECK(!strcmp(mpmu_note_kind_name(99), "unknown"));
	CHECK(!strcmp(mpmu_mode_name(MPMU_MODE_ARBITRATE), "arbitrate"));
	CHECK(!strcmp(mpmu_mode_name(MPMU_MODE_OBSERVE), "observe"));
}

TEST(textfile_has_every_spec_metric_and_replaces_atomically)
{
	struct mpmu_status st = { .enabled = true, .refcount = 2, .include_guest_events = 0,
				  .unmanaged_vms = 1, .rejected_vms = 5, .rejected_events = 7,
				  .mode = MPMU_MODE_ARBITRATE, .version = "0.1.0\"x" };
	char *root = scratch_root(), path[256], buf[4096];
	const char *want[] = {
		"# TYPE mediated_pmu_enabled gauge\nmediated_pmu_enabled 1\n",
		"# TYPE mediated_pmu_refcount gauge\nmediated_pmu_refcount 2\n",
		"# TYPE mediated_pmu_include_guest_events gauge\nmediated_pmu_include_guest_events 0\n",
		"# TYPE mediated_pmu_unmanaged_vms gauge\nmediated_pmu_unmanaged_vms 1\n",
		"# TYPE mediated_pmu_rejected_vms_total counter\nmediated_pmu_rejected_vms_total 5\n",
		"# TYPE mediated_pmu_rejected_events_total counter\nmediated_pmu_rejected_events_total 7\n",
		"# TYPE mediated_pmu_drains_total counter\nmediated_pmu_drains_total 3\n",
		"mediated_pmu_info{version=\"0.1.0\\\"x\",mode=\"arbitrate\"} 1\n",
	};
	size_t i, len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/mediated_pmu.prom", root);
	CHECK(!mpmu_textfile_write(path, &st, 3));
	f = fopen(path, "r");
	len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[len] = '\0';
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(strstr(buf, want[i]) != NULL);
	st.refcount = 0;
	CHECK(!mpmu_textfile_write(path, &st, 3));	/* replaces */
	f = fopen(path, "r");
	len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[len] = '\0';
	CHECK(strstr(buf, "\nmediated_pmu_refcount 0\n") != NULL);
	CHECK(mpmu_textfile_write("/nonexistent/dir/x.prom", &st, 0) == -ENOENT);
	free(root);
}

TEST(open_without_module_says_enoent)
{
	struct mpmu_client *c = NULL;
	int ret = mpmu_open(&c);

	/* The build machine never has the module loaded. */
	CHECK(ret == -ENOENT);
	CHECK(c == NULL);
}

int main(void)
{
	RUN(guest_name_from_libvirt_style_option);
	RUN(guest_name_from_plain_option);
	RUN(guest_name_first_field_without_key);
	RUN(guest_name_unescapes_double_commas);
	RUN(guest_name_absent_or_malformed);
	RUN(guest_name_too_long_is_refused);
	RUN(saved_watchdog_keeps_the_first_value);
	RUN(nmi_watchdog_reads_and_rejects_junk);
	RUN(names_of_kinds_and_modes);
	RUN(textfile_has_every_spec_metric_and_replaces_atomically);
	RUN(open_without_module_says_enoent);
	return SUMMARY();
}

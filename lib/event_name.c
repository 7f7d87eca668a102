// SPDX-License-Identifier: GPL-2.0
/*
 * An event's name as perf prints it (tools/perf/util/evsel.c): "cycles",
 * "cpu-clock", "L1-dcache-load-misses", "r3c"; an event perf has no name
 * for is written as perf accepts it on its command line, "PMU/config=0x../".
 */
#include <stdio.h>

#include <linux/perf_event.h>

#include "mpmu.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const hw_names[] = {
	[PERF_COUNT_HW_CPU_CYCLES] = "cycles",
	[PERF_COUNT_HW_INSTRUCTIONS] = "instructions",
	[PERF_COUNT_HW_CACHE_REFERENCES] = "cache-references",
	[PERF_COUNT_HW_CACHE_MISSES] = "cache-misses",
	[PERF_COUNT_HW_BRANCH_INSTRUCTIONS] = "branches",
	[PERF_COUNT_HW_BRANCH_MISSES] = "branch-misses",
	[PERF_COUNT_HW_BUS_CYCLES] = "bus-cycles",
	[PERF_COUNT_HW_STALLED_CYCLES_FRONTEND] = "stalled-cycles-frontend",
	[PERF_COUNT_HW_STALLED_CYCLES_BACKEND] = "stalled-cycles-backend",
	[PERF_COUNT_HW_REF_CPU_CYCLES] = "ref-cycles",
};

static const char *const sw_names[] = {
	[PERF_COUNT_SW_CPU_CLOCK] = "cpu-clock",
	[PERF_COUNT_SW_TASK_CLOCK] = "task-clock",
	[PERF_COUNT_SW_PAGE_FAULTS] = "page-faults",
	[PERF_COUNT_SW_CONTEXT_SWITCHES] = "context-switches",
	[PERF_COUNT_SW_CPU_MIGRATIONS] = "cpu-migrations",
	[PERF_COUNT_SW_PAGE_FAULTS_MIN] = "minor-faults",
	[PERF_COUNT_SW_PAGE_FAULTS_MAJ] = "major-faults",
	[PERF_COUNT_SW_ALIGNMENT_FAULTS] = "alignment-faults",
	[PERF_COUNT_SW_EMULATION_FAULTS] = "emulation-faults",
	[PERF_COUNT_SW_DUMMY] = "dummy",
	[PERF_COUNT_SW_BPF_OUTPUT] = "bpf-output",
	[PERF_COUNT_SW_CGROUP_SWITCHES] = "cgroup-switches",
};

/* perf's first spelling of each cache, operation and result. */
static const char *const cache_names[] = {
	"L1-dcache", "L1-icache", "LLC", "dTLB", "iTLB", "branch", "node",
};
static const char *const cache_op[] = { "load", "store", "prefetch" };
static const char *const cache_ops[] = { "loads", "stores", "prefetches" };

/*
 * Hardware and cache events may carry a PMU's type in config's high half
 * (hybrid CPUs): the event is the low half.
 */
#define HW_EVENT_MASK	0xffffffffULL

static const char *named(const char *const *names, size_t nr, uint64_t id)
{
	return id < nr ? names[id] : NULL;
}

static int cache_name(char *buf, size_t size, uint64_t config)
{
	uint64_t cache = config & 0xff, op = (config >> 8) & 0xff;
	uint64_t result = (config >> 16) & 0xff;

	if (cache >= ARRAY_LEN(cache_names) || op >= ARRAY_LEN(cache_op) || result > 1)
		return -1;
	if (result)
		return snprintf(buf, size, "%s-%s-misses", cache_names[cache], cache_op[op]);
	return snprintf(buf, size, "%s-%s", cache_names[cache], cache_ops[op]);
}

void mpmu_event_name(const struct mpmu_event *e, char *buf, size_t size)
{
	uint64_t id = e->config & HW_EVENT_MASK;
	const char *name = NULL;

	switch (e->type) {
	case PERF_TYPE_HARDWARE:
		name = named(hw_names, ARRAY_LEN(hw_names), id);
		break;
	case PERF_TYPE_SOFTWARE:
		name = named(sw_names, ARRAY_LEN(sw_names), e->config);
		break;
	case PERF_TYPE_HW_CACHE:
		if (cache_name(buf, size, id) >= 0)
			return;
		break;
	case PERF_TYPE_RAW:
		snprintf(buf, size, "r%llx", (unsigned long long)e->config);
		return;
	}
	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "%s/config=0x%llx/", e->pmu,
			 (unsigned long long)e->config);
}

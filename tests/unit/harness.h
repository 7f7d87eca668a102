/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host tier's tiny harness: each test is a function taking int *okp;
 * CHECK() reports a failed condition and clears *okp; RUN() prints
 * "PASS name" or "FAIL name"; SUMMARY() prints "unit: N passed, N failed".
 */
#ifndef MPMU_TEST_HARNESS_H
#define MPMU_TEST_HARNESS_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "    %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		*okp = 0;						\
	}								\
} while (0)

#define RUN(name) do {							\
	int ok_ = 1;							\
	name(&ok_);							\
	printf("%s %s\n", ok_ ? "PASS" : "FAIL", #name);		\
	if (ok_)							\
		passed++;						\
	else								\
		failed++;						\
} while (0)

#define SUMMARY() (printf("unit: %d passed, %d failed\n", passed, failed), failed ? 1 : 0)

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * PID 1 of a throwaway guest (tests/tools/qemu-cx16-check): does the
 * emulator's CMPXCHG16B leave bits in EFLAGS that no x86 CPU can report?
 *
 * POPF ends a TCG block with the condition codes held as EFLAGS; ADD then
 * leaves its operand where QEMU keeps a source of the lazy flags; a
 * CMPXCHG16B that computes EFLAGS from the stale state reports the
 * operand's bits (here bit 22, reserved) as flags.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/reboot.h>
#include <unistd.h>

#define ROUNDS 1000
/* CF PF AF ZF SF TF IF DF OF IOPL NT RF AC VIF VIP ID and bit 1. */
#define EFLAGS_DEFINED 0x3f7fd7UL

static unsigned __int128 slot __attribute__((aligned(16)));

static uint64_t flags_after_cmpxchg16b(void)
{
	uint64_t a = 0, d = 0, b = 1, c = 0, x = 1UL << 22, y = 1, flags;

	slot = 0;
	__asm__ volatile("pushq $0x202\n\t"
			 "popfq\n\t"
			 "addq %[x], %[y]\n\t"
			 "cmpxchg16b %[m]\n\t"
			 "pushfq\n\t"
			 "popq %[f]\n\t"
			 : [f] "=r"(flags), [m] "+m"(slot), "+a"(a), "+d"(d),
			   [y] "+r"(y)
			 : "b"(b), "c"(c), [x] "r"(x)
			 : "cc", "memory");
	return flags;
}

int main(void)
{
	unsigned int bad = 0;
	uint64_t first = flags_after_cmpxchg16b();

	for (int i = 0; i < ROUNDS; i++)
		bad += (flags_after_cmpxchg16b() & ~EFLAGS_DEFINED) != 0;
	printf("qemu-cx16: EFLAGS after CMPXCHG16B %#lx; impossible bits in %u of %d\n",
	       (unsigned long)first, bad, ROUNDS);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}

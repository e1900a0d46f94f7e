/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * noop: the program `agbench forkexec` runs in benchmark 7 (fork+exec of an
 * allowed binary). Static and as small as a program can be, so that what
 * agentguard adds to an exec is as visible as it can be: on x86-64 and
 * arm64 it is a bare _start that calls exit(0), without libc.
 */
#if defined(__x86_64__)
__asm__(".globl _start\n"
	"_start:\n"
	"	mov $60, %eax\n"	/* SYS_exit */
	"	xor %edi, %edi\n"
	"	syscall\n");
#elif defined(__aarch64__)
__asm__(".globl _start\n"
	"_start:\n"
	"	mov x8, #93\n"		/* SYS_exit */
	"	mov x0, #0\n"
	"	svc #0\n");
#else
int main(void)
{
	return 0;
}
#endif
